/** One step of a path into a JSON value. */
export type PathSegment =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'index'; readonly index: number }
  /** An element of an array of objects, matched by the fields that identify it (`[name=serve]`). */
  | { readonly kind: 'match'; readonly by: readonly (readonly [field: string, value: string])[] }
  | { readonly kind: 'json' };

/** @internal */
export const key = (k: string): PathSegment => ({ kind: 'key', key: k });
/** @internal */
export const index = (i: number): PathSegment => ({ kind: 'index', index: i });
/** @internal */
export const match = (by: readonly (readonly [string, string])[]): PathSegment => ({ kind: 'match', by });
/** @internal */
export const JSON_SEGMENT: PathSegment = { kind: 'json' };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PLAIN_VALUE = /^[^\]\["\s,=]+$/;

/**
 * Formats a path the way the diff prints it: `spec.template.spec.containers[name=serve].image`,
 * `objects[kind=Deployment,namespace=serving,name=fraud].file`,
 * `metadata.labels["app.kubernetes.io/name"]`, `ingress[0].from_port`,
 * `assume_role_policy(json).Statement[0].Effect`.
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    switch (seg.kind) {
      case 'key':
        if (PLAIN_KEY.test(seg.key)) out += out === '' ? seg.key : `.${seg.key}`;
        else out += `[${JSON.stringify(seg.key)}]`;
        break;
      case 'index':
        out += `[${seg.index}]`;
        break;
      case 'match':
        out += `[${seg.by.map(([f, v]) => `${f}=${PLAIN_VALUE.test(v) ? v : JSON.stringify(v)}`).join(',')}]`;
        break;
      case 'json':
        out += '(json)';
        break;
    }
  }
  return out;
}

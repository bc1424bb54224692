/** One step of a path into a JSON value. */
export type PathSegment =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'json' };

/** @internal */
export const key = (k: string): PathSegment => ({ kind: 'key', key: k });
/** @internal */
export const index = (i: number): PathSegment => ({ kind: 'index', index: i });
/** @internal */
export const byName = (n: string): PathSegment => ({ kind: 'name', name: n });
/** @internal */
export const JSON_SEGMENT: PathSegment = { kind: 'json' };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PLAIN_NAME = /^[^\]\["\s]+$/;

/**
 * Formats a path the way the diff prints it: `spec.template.spec.containers[name=serve].image`,
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
      case 'name':
        out += PLAIN_NAME.test(seg.name) ? `[name=${seg.name}]` : `[name=${JSON.stringify(seg.name)}]`;
        break;
      case 'json':
        out += '(json)';
        break;
    }
  }
  return out;
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
// ajv: the JSON Schema validator the kubernetes-models packages themselves depend on
import Ajv from 'ajv';
import { captureStrictSchemas, checkNoUnknownFields, registerValidator } from './kube-schema';

/**
 * HTTPRoute (gateway.networking.k8s.io/v1) validation: the @kubernetes-models/gateway-api 0.5.1
 * model (Gateway API v1.0 schema) plus, for every RequestMirror filter, the committed schema of
 * the filter as it is in the standard channel today (with `percent` and `fraction`, which the
 * model lacks and would otherwise let through unchecked). Import this module to register it.
 */
const schemaFile = path.join(__dirname, '..', 'fixtures', 'crds', 'gateway-api', 'http-request-mirror-filter.v1.schema.json');
const ajv = new Ajv({ allErrors: true, strict: false });
const validateMirror = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));

type Filter = { type?: string; requestMirror?: { fraction?: { numerator: number; denominator?: number } } };

/** Checks one RequestMirror filter; throws naming where and what. */
export function checkRequestMirror(filter: Filter, where: string): void {
  if (filter.type !== 'RequestMirror') {
    if (filter.requestMirror !== undefined) throw new Error(`${where}: requestMirror set on a filter of type '${filter.type}'`);
    return;
  }
  if (!validateMirror(filter.requestMirror)) {
    throw new Error(`${where}.requestMirror: ${ajv.errorsText(validateMirror.errors, { dataVar: 'requestMirror' })}`);
  }
  const f = filter.requestMirror?.fraction;
  if (f && f.numerator > (f.denominator ?? 100)) throw new Error(`${where}.requestMirror.fraction: numerator must be less than or equal to denominator`);
}

captureStrictSchemas();
registerValidator('gateway.networking.k8s.io/v1', 'HTTPRoute', (o) => {
  new HTTPRoute(o as never).validate();
  // unknown fields refused, except inside RequestMirror filters (checked below with the newer schema)
  checkNoUnknownFields(o as never, { ignore: /\.requestMirror\./ });
  const rules = ((o as { spec?: { rules?: { filters?: Filter[]; backendRefs?: { filters?: Filter[] }[] }[] } }).spec?.rules) ?? [];
  rules.forEach((r, i) => {
    (r.filters ?? []).forEach((f, j) => checkRequestMirror(f, `spec.rules[${i}].filters[${j}]`));
    (r.backendRefs ?? []).forEach((b, k) => (b.filters ?? []).forEach((f, j) => checkRequestMirror(f, `spec.rules[${i}].backendRefs[${k}].filters[${j}]`)));
  });
});

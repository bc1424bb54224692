import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { memoryLogger, standardRegistry, tabularReference, tempDir, testConfig } from './support/fixtures';
import { RawRequest, request } from './support/http';
import type { Registry } from '../../../src/runtime/registry/registry';
import { ServeServer, startServer } from '../../../src/runtime/serve/server';

/**
 * Hundreds of generated malformed requests against a real server on 127.0.0.1: each must be
 * answered 4xx with `{"error": ...}` naming what was wrong, and the server must still serve
 * correct answers afterwards.
 */

const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_HEADERS = { 'content-type': 'application/json', ...AUTH };
const BODY_LIMIT = 64 * 1024;
const MAX_ROWS = 8;

interface Case {
  readonly name: string;
  readonly req: RawRequest;
  readonly status: number;
  /** Every fragment must appear in the error message. */
  readonly expect: readonly (string | RegExp)[];
}

const TYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
const GOOD_VALUES: Record<string, unknown[]> = {
  BOOL: [true, false],
  UINT8: [1, 2],
  UINT16: [1, 2],
  UINT32: [1, 2],
  UINT64: [1, 2],
  INT8: [1, 2],
  INT16: [1, 2],
  INT32: [1, 2],
  INT64: [1, 2],
  FP16: [1, 2],
  FP32: [1, 2],
  FP64: [1, 2],
  BYTES: ['a', 'b'],
};

function allTypesInputs(override: Partial<Record<string, unknown>> = {}): unknown[] {
  return TYPES.map((d) => override[d] ?? { name: `in_${d.toLowerCase()}`, shape: [1, 2], datatype: d, data: GOOD_VALUES[d] });
}

const ROW = tabularReference().rows[0];
function tabular(input: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): unknown {
  return { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: ROW, ...input }], ...rest };
}

function post(p: string, body: unknown, headers: Record<string, string | undefined> = JSON_HEADERS): RawRequest {
  return { method: 'POST', path: p, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

function cases(): Case[] {
  const out: Case[] = [];
  const add = (name: string, req: RawRequest, status: number, ...expect: (string | RegExp)[]) => out.push({ name, req, status, expect });
  const infer = '/v2/models/tabular/infer';
  const typesInfer = '/v2/models/all-types/infer';

  // --- bodies that are not JSON ------------------------------------------------------------
  for (const body of ['{', '{"inputs": [}', 'nul', '[1,2', '{"a":1,}', "{'inputs':[]}", 'NaN', '{"inputs": NaN}', '{}x', '{"inputs": [1 2]}',
    '{"inputs": "\\x"}', 'undefined', '{inputs: []}', '{"id": "a" "inputs": []}', '"unterminated', '{"inputs": [Infinity]}', '01', '{"a": .5}', '\u0000', '[[[[[', '}{']) {
    add(`invalid JSON ${JSON.stringify(body)}`, post(infer, body), 400, /^request body: is not valid JSON: .*(Unexpected|Expected|Bad|Unterminated|is not valid JSON)/);
  }
  add('empty body', post(infer, ''), 400, 'request body: is empty; expected a JSON object');
  add('a __proto__ key', post(infer, '{"__proto__": {"x": 1}, "inputs": []}'), 400, "request body: unknown field '__proto__'");

  // --- JSON that is not an inference request ------------------------------------------------
  for (const [body, kind] of [['[]', 'an array'], ['1', 'number 1'], ['"str"', 'string "str"'], ['null', 'null'], ['true', 'boolean true']] as const) {
    add(`body ${body}`, post(infer, body), 400, 'request body: must be a JSON object', kind);
  }
  for (const field of ['input', 'input_data', 'model', 'data', 'instances', 'Inputs']) {
    add(`unknown top-level field ${field}`, post(infer, { ...(tabular() as object), [field]: 1 }), 400, `unknown field '${field}'`, 'expected only id, parameters, inputs, outputs');
  }
  for (const id of [1, true, {}, [], null]) add(`id ${JSON.stringify(id)}`, post(infer, tabular({}, { id })), 400, 'id: must be a string');
  for (const parameters of [[], 'x', 1, null]) add(`parameters ${JSON.stringify(parameters)}`, post(infer, tabular({}, { parameters })), 400, 'parameters: must be an object');
  for (const v of [{}, [], null]) add(`parameter value ${JSON.stringify(v)}`, post(infer, tabular({}, { parameters: { a: v } })), 400, 'parameters.a: must be a string, number or boolean');
  for (const p of ['binary_data', 'binary_data_output', 'classification', 'shared_memory_region']) {
    add(`unsupported extension parameter ${p}`, post(infer, tabular({}, { parameters: { [p]: true } })), 400, `parameters.${p}`, 'not supported');
  }
  add('inputs missing', post(infer, { id: 'x' }), 400, 'inputs: is missing');
  for (const inputs of [{}, 'x', 1, null, true]) add(`inputs ${JSON.stringify(inputs)}`, post(infer, { inputs }), 400, 'inputs: must be an array');
  add('inputs empty', post(infer, { inputs: [] }), 400, "missing 'input' (FP32 [-1,30])");
  for (const item of [1, null, 'input', [], true]) add(`inputs[0] ${JSON.stringify(item)}`, post(infer, { inputs: [item] }), 400, 'inputs[0]: must be an object {name, shape, datatype, data}');

  // --- the tensor of the tabular model -------------------------------------------------------
  add('input name missing', post(infer, { inputs: [{ shape: [1, 30], datatype: 'FP32', data: ROW }] }), 400, 'inputs[0].name: is missing');
  for (const n of [1, null, true, ['input']]) add(`input name ${JSON.stringify(n)}`, post(infer, tabular({ name: n })), 400, 'inputs[0].name: must be a string');
  for (const n of ['inputs', 'Input', 'x', '', 'input ']) add(`unknown input ${JSON.stringify(n)}`, post(infer, tabular({ name: n })), 400, `${JSON.stringify(n)} is not an input of model 'tabular'`, "its inputs are 'input'");
  add('input given twice', post(infer, { inputs: [(tabular() as { inputs: unknown[] }).inputs[0], (tabular() as { inputs: unknown[] }).inputs[0]] }), 400, "input 'input' is given twice");
  for (const field of ['value', 'type', 'dtype', 'contents']) add(`unknown input field ${field}`, post(infer, tabular({ [field]: 1 })), 400, `inputs[0]: unknown field '${field}'`);
  add('datatype missing', post(infer, { inputs: [{ name: 'input', shape: [1, 30], data: ROW }] }), 400, "input 'input' datatype: is missing");
  for (const d of [1, null, ['FP32']]) add(`datatype ${JSON.stringify(d)}`, post(infer, tabular({ datatype: d })), 400, "input 'input' datatype: must be a string");
  for (const d of ['FLOAT32', 'fp32', 'float', 'FP8', 'STRING', '']) add(`datatype ${d}`, post(infer, tabular({ datatype: d })), 400, `${JSON.stringify(d)} is not an Open Inference Protocol datatype`);
  for (const d of TYPES.filter((x) => x !== 'FP32')) add(`datatype ${d} for an FP32 input`, post(infer, tabular({ datatype: d })), 400, `input 'input' datatype: is ${d} but model 'tabular' takes FP32`);
  add('shape missing', post(infer, { inputs: [{ name: 'input', datatype: 'FP32', data: ROW }] }), 400, "input 'input' shape: is missing");
  for (const s of ['1,30', 30, null, {}]) add(`shape ${JSON.stringify(s)}`, post(infer, tabular({ shape: s })), 400, "input 'input' shape: must be an array of positive integers");
  for (const [s, axis] of [[[0, 30], 0], [[-1, 30], 0], [[1.5, 30], 0], [['1', 30], 0], [[1, null], 1], [[1, 1e20], 1]] as const) {
    add(`shape ${JSON.stringify(s)}`, post(infer, tabular({ shape: s })), 400, `input 'input' shape: axis ${axis} is`, 'each axis must be a positive integer');
  }
  for (const s of [[30], [1, 30, 1], [1, 1, 30], []]) add(`shape rank ${JSON.stringify(s)}`, post(infer, tabular({ shape: s })), 400, `has ${s.length} axes`, "input 'input' of model 'tabular' has 2: [-1,30]");
  for (const w of [1, 29, 31, 60]) add(`shape [1,${w}]`, post(infer, tabular({ shape: [1, w] })), 400, `axis 1 is ${w} but input 'input' of model 'tabular' needs 30`);
  add('too many rows', post(infer, tabular({ shape: [MAX_ROWS + 1, 30], data: new Array((MAX_ROWS + 1) * 30).fill(0) })), 400, `batch axis is ${MAX_ROWS + 1} rows; this server accepts at most ${MAX_ROWS} rows per request`);
  add('data missing', post(infer, { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32' }] }), 400, "input 'input' data: is missing");
  for (const d of [1, 'x', {}, null]) add(`data ${JSON.stringify(d)}`, post(infer, tabular({ data: d })), 400, "input 'input' data: must be an array");
  for (const n of [0, 1, 29, 31, 60]) add(`data with ${n} elements`, post(infer, tabular({ data: new Array(n).fill(1) })), 400, `input 'input': data has ${n} elements but shape [1,30] needs 30`);
  add('2 rows, 59 values', post(infer, tabular({ shape: [2, 30], data: new Array(59).fill(1) })), 400, 'data has 59 elements but shape [2,30] needs 60');
  add('nested with a short row', post(infer, tabular({ shape: [2, 30], data: [ROW, ROW.slice(1)] })), 400, 'data[1] has 29 entries but axis 1 of shape [2,30] is 30');
  add('nested with too many rows', post(infer, tabular({ shape: [2, 30], data: [ROW, ROW, ROW] })), 400, 'data has 3 entries but axis 0 of shape [2,30] is 2');
  add('nested mixed with a number', post(infer, tabular({ shape: [2, 30], data: [ROW, 5] })), 400, 'data[1] is number 5; nested data must follow shape [2,30]');
  add('nested too deep', post(infer, tabular({ shape: [1, 30], data: [ROW.map((v) => [v])] })), 400, "input 'input': element 0 is an array; FP32 expects a finite number");
  for (const [v, shown] of [['1', '"1"'], [null, 'null'], [true, 'true'], [{}, '{}'], [1e39, '1e+39'], [-1e39, '-1e+39']] as const) {
    const data = [...ROW];
    data[7] = v as unknown as number;
    add(`tabular FP32 element ${shown}`, post(infer, tabular({ data })), 400, `input 'input': element 7 is ${shown}; FP32 expects a finite number within the FP32 range`);
  }

  // --- every datatype of the all-types model ------------------------------------------------
  const bad: Record<string, [unknown, string][]> = {
    BOOL: [[1, '1'], [0, '0'], ['true', '"true"'], [null, 'null']],
    UINT8: [[-1, '-1'], [256, '256'], [1.5, '1.5'], ['1', '"1"']],
    UINT16: [[-1, '-1'], [65536, '65536'], [0.1, '0.1']],
    UINT32: [[-1, '-1'], [4294967296, '4294967296'], [2.5, '2.5']],
    UINT64: [[-1, '-1'], [2 ** 60, '1152921504606847000'], [1.25, '1.25']],
    INT8: [[-129, '-129'], [128, '128'], [0.5, '0.5'], [false, 'false']],
    INT16: [[-32769, '-32769'], [32768, '32768'], [3.3, '3.3']],
    INT32: [[-2147483649, '-2147483649'], [2147483648, '2147483648'], [1e-9, '1e-9']],
    INT64: [[2 ** 60, '1152921504606847000'], [-(2 ** 60), '-1152921504606847000'], [7.5, '7.5']],
    FP16: [[70000, '70000'], [-65505, '-65505'], ['1', '"1"']],
    FP32: [[1e39, '1e+39'], [null, 'null']],
    FP64: [['1.0', '"1.0"'], [[1], 'an array']],
    BYTES: [[1, '1'], [null, 'null'], [true, 'true'], [['a'], 'an array']],
  };
  for (const d of TYPES) {
    for (const [v, shown] of bad[d]) {
      const inputs = allTypesInputs({ [d]: { name: `in_${d.toLowerCase()}`, shape: [1, 2], datatype: d, data: [GOOD_VALUES[d][0], v] } });
      add(`${d} element ${shown}`, post(typesInfer, { inputs }), 400, `input 'in_${d.toLowerCase()}': element 1 is ${shown}; ${d} expects`);
    }
    const other = d === 'BYTES' ? 'FP32' : 'BYTES';
    add(`${d} input sent as ${other}`, post(typesInfer, { inputs: allTypesInputs({ [d]: { name: `in_${d.toLowerCase()}`, shape: [1, 2], datatype: other, data: GOOD_VALUES[other] } }) }), 400,
      `input 'in_${d.toLowerCase()}' datatype: is ${other} but model 'all-types' takes ${d}`);
    add(`${d} input missing`, post(typesInfer, { inputs: allTypesInputs().filter((i) => (i as { name: string }).name !== `in_${d.toLowerCase()}`) }), 400,
      `missing 'in_${d.toLowerCase()}' (${d} [-1,2])`);
  }
  add('rows disagree between inputs', post(typesInfer, { inputs: allTypesInputs({ INT8: { name: 'in_int8', shape: [2, 2], datatype: 'INT8', data: [1, 2, 3, 4] } }) }), 400,
    "input 'in_int8' shape: axis 0 is 2 but the same axis ('N') of input 'in_bool' is 1; they must agree");
  add('fixed batch axis of 3 for a model fixed at 2', post('/v2/models/fixed/infer', { inputs: [{ name: 'x', shape: [3, 3], datatype: 'FP32', data: new Array(9).fill(0) }] }), 400,
    "axis 0 is 3 but input 'x' of model 'fixed' needs 2");

  // --- requested outputs ---------------------------------------------------------------------
  for (const o of [{}, 'label', 1, null]) add(`outputs ${JSON.stringify(o)}`, post(infer, tabular({}, { outputs: o })), 400, 'outputs: must be an array of {name}');
  for (const o of [1, null, 'label', []]) add(`outputs[0] ${JSON.stringify(o)}`, post(infer, tabular({}, { outputs: [o] })), 400, 'outputs[0]: must be an object {name, parameters?}');
  add('output name missing', post(infer, tabular({}, { outputs: [{ parameters: {} }] })), 400, 'outputs[0].name: is missing');
  for (const n of ['labels', 'prob', '', 'output0']) add(`unknown output ${n}`, post(infer, tabular({}, { outputs: [{ name: n }] })), 400, `${JSON.stringify(n)} is not an output of model 'tabular'`, "its outputs are 'probabilities', 'label'");
  add('output requested twice', post(infer, tabular({}, { outputs: [{ name: 'label' }, { name: 'label' }] })), 400, "output 'label' is requested twice");
  add('unknown output field', post(infer, tabular({}, { outputs: [{ name: 'label', shape: [1] }] })), 400, "outputs[0]: unknown field 'shape'");
  add('binary output', post(infer, tabular({}, { outputs: [{ name: 'label', parameters: { binary_data: true } }] })), 400, 'outputs[0].parameters.binary_data', 'not supported');

  // --- unknown models, versions and routes ---------------------------------------------------
  for (const m of ['nope', 'TABULAR', 'tabular2', 'tab%20ular', 'a..b']) {
    add(`unknown model ${m}`, post(`/v2/models/${m}/infer`, tabular()), 404, 'is not served here; served models:');
  }
  for (const v of ['2', '0', 'abc', '01', '-1', '1.0']) {
    add(`unknown version ${v}`, post(`/v2/models/tabular/versions/${v}/infer`, tabular()), 404, `model 'tabular' has no version "${v}" served here; this server serves version 1`);
    add(`metadata of unknown version ${v}`, { path: `/v2/models/tabular/versions/${v}`, headers: AUTH }, 404, `has no version "${v}"`);
  }
  add('metadata of unknown model', { path: '/v2/models/nope', headers: AUTH }, 404, "model 'nope' is not served here");
  for (const [method, p] of [['GET', '/v2/models/tabular/infer'], ['POST', '/v2/health/live'], ['GET', '/v2/models'], ['PUT', '/v2/models/tabular/infer'], ['DELETE', '/v2/models/tabular'], ['GET', '/v1/models/tabular'], ['GET', '/v2/models/tabular/versions']]) {
    add(`no route ${method} ${p}`, { method, path: p, headers: AUTH }, 404, `no route ${method} ${p}`);
  }

  // --- content types and sizes ---------------------------------------------------------------
  for (const ct of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/jsonx', 'text/json']) {
    add(`content-type ${ct}`, post(infer, JSON.stringify(tabular()), { ...AUTH, 'content-type': ct }), 415, `content-type ${JSON.stringify(ct)} is not supported; send application/json`);
  }
  add('no content-type', post(infer, JSON.stringify(tabular()), { ...AUTH }), 415, 'the request has a body but no content-type; send application/json');
  const huge = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: ROW, parameters: { pad: 'x'.repeat(BODY_LIMIT) } }] });
  add('body over the limit', post(infer, huge), 413, `request body is larger than the limit of ${BODY_LIMIT} bytes`);
  add('content-length over the limit', { method: 'POST', path: infer, headers: { ...JSON_HEADERS, 'content-length': String(BODY_LIMIT * 4) }, body: huge.slice(0, 100) }, 413, 'larger than the limit');
  add('many rows over the limit', post(infer, tabular({ shape: [5000, 30], data: new Array(5000 * 30).fill(1.2345) })), 413, 'larger than the limit');

  // --- authentication ------------------------------------------------------------------------
  const body = JSON.stringify(tabular());
  for (const [name, authorization, message] of [
    ['no Authorization header', undefined, "missing bearer token: send the header 'Authorization: Bearer <token>'"],
    ['Basic credentials', 'Basic dXNlcjpwYXNz', "malformed Authorization header: expected 'Bearer <token>'"],
    ['Bearer without a token', 'Bearer', 'malformed Authorization header'],
    ['Bearer with spaces only', 'Bearer    ', 'malformed Authorization header'],
    ['a wrong token', 'Bearer wrong-token-0123456789abcdef', 'invalid bearer token'],
    ['the token with one character changed', `Bearer ${TOKEN.slice(0, -1)}X`, 'invalid bearer token'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 10)}`, 'invalid bearer token'],
    ['the token twice', `Bearer ${TOKEN}${TOKEN}`, 'invalid bearer token'],
    ['the token in lower-case scheme and extra words', `Bearer ${TOKEN} extra`, 'malformed Authorization header'],
  ] as const) {
    add(`infer with ${name}`, post(infer, body, { 'content-type': 'application/json', authorization }), 401, message);
    add(`metadata with ${name}`, { path: '/v2/models/tabular', headers: { authorization } }, 401, message);
  }
  return out;
}

describe('serve: malformed requests', () => {
  let registry: Registry;
  let server: ServeServer;
  let agent: http.Agent;
  const { logger, lines } = memoryLogger('info');

  beforeAll(async () => {
    ({ registry } = await standardRegistry());
    const tokens = path.join(tempDir('tokens'), 'tokens');
    fs.writeFileSync(tokens, `# serving clients\n${TOKEN}\n\nanother-token-abcdefghijklmnop\n`);
    server = await startServer(testConfig(registry.uri, {
      auth: { tokensFile: tokens },
      limits: { bodyLimitBytes: BODY_LIMIT, maxBatchRows: MAX_ROWS, requestTimeoutMs: 800 },
    }), { registry, logger });
    agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  });
  afterAll(async () => {
    agent.destroy();
    await server.shutdown('test end');
  });

  const all = cases();

  test('at least 200 distinct malformed requests are generated', () => {
    expect(all.length).toBeGreaterThanOrEqual(200);
    const names = all.map((c) => c.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  test('each is answered 4xx with {"error"} naming what was wrong, and the server keeps serving', async () => {
    const failures: string[] = [];
    for (const c of all) {
      const r = await request(server.url, c.req, agent);
      let error: unknown;
      try {
        const parsed = JSON.parse(r.body) as Record<string, unknown>;
        error = Object.keys(parsed).length === 1 ? parsed.error : undefined;
      } catch {
        error = undefined;
      }
      const problems: string[] = [];
      if (r.status !== c.status) problems.push(`status ${r.status}, expected ${c.status}`);
      if (typeof error !== 'string') {problems.push(`body ${r.body.slice(0, 200)} is not {"error": string}`);} else {
        for (const e of c.expect) {
          if (typeof e === 'string' ? !error.includes(e) : !e.test(error)) problems.push(`message ${JSON.stringify(error)} lacks ${String(e)}`);
        }
      }
      if (r.status === 401 && !String(r.headers['www-authenticate'] ?? '').startsWith('Bearer')) problems.push('401 without WWW-Authenticate: Bearer');
      if (problems.length) failures.push(`${c.name}: ${problems.join('; ')}`);
      if (process.env.SHOW_ERRORS) process.stdout.write(`${r.status} ${c.name} => ${String(error)}\n`);
    }
    expect(failures).toEqual([]);

    // Still alive and correct.
    const ok = await request(server.url, post('/v2/models/tabular/infer', { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: ROW }] }), agent);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).outputs[1].data).toEqual([tabularReference().models['tabular-mlp.onnx'].labels[0]]);
    expect((await request(server.url, { path: '/v2/health/ready' }, agent)).status).toBe(200);
    // Client errors are not logged as errors (only 5xx are).
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });

  test('health, server metadata and /metrics need no token', async () => {
    for (const p of ['/v2/health/live', '/v2/health/ready', '/v2', '/metrics', '/v2/models/tabular/ready']) {
      expect({ p, status: (await request(server.url, { path: p })).status }).toEqual({ p, status: 200 });
    }
  });

  test('garbage on the socket and a request cut short leave the server serving', async () => {
    const { port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(Number(port), '127.0.0.1', () => s.end('NOT HTTP AT ALL\r\n\r\n'));
      s.on('data', () => undefined);
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(Number(port), '127.0.0.1', () => {
        s.write(`POST /v2/models/tabular/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${TOKEN}\r\ncontent-length: 1000\r\n\r\n{"inputs":`);
        setTimeout(() => s.destroy(), 50);
      });
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    const ok = await request(server.url, post('/v2/models/tabular/infer', { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: ROW }] }), agent);
    expect(ok.status).toBe(200);
  });

  test('a client that stalls mid-request is answered 408 and cut off after requestTimeoutMs', async () => {
    const { port } = new URL(server.url);
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = net.connect(Number(port), '127.0.0.1', () => {
        s.write(`POST /v2/models/tabular/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${TOKEN}\r\ncontent-length: 100\r\n\r\n{"inp`);
      });
      s.on('data', (c: Buffer) => { got += c.toString(); });
      s.on('close', () => resolve(got));
      s.on('error', reject);
      setTimeout(() => s.destroy(new Error('not cut off within 5 s')), 5000);
    });
    const waited = Date.now() - started;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(waited).toBeGreaterThanOrEqual(700);
    expect(waited).toBeLessThan(2500);
    const ok = await request(server.url, post('/v2/models/tabular/infer', { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: ROW }] }), agent);
    expect(ok.status).toBe(200);
  });
});

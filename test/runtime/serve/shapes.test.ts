import { TestApp, buildTestApp, registerFixture, standardRegistry, tabularReference, testConfig } from './support/fixtures';
import type { Registry } from '../../../src/runtime/registry/registry';
import { parseInferRequest } from '../../../src/runtime/serve/request';
import type { GraphSignature } from '../../../src/runtime/serve/signature';

/**
 * Shapes the graph declares as rank 0 (`[]`, a scalar), the request-size limit on axis 0 for
 * every input of rank >= 1, and the `binary_data: false` parameters that standard Triton
 * clients send in JSON mode.
 */
describe('serve: scalar inputs, batch-row limit and JSON-mode Triton parameters', () => {
  let registry: Registry;
  let t: TestApp;
  const json = { 'content-type': 'application/json' };
  const MAX_ROWS = 4;
  const infer = (url: string, payload: unknown) => t.app.inject({ method: 'POST', url, headers: json, payload: payload as object });
  const scalarRequest = (scale: Record<string, unknown>, xRows = 1) => ({
    inputs: [
      { name: 'x', shape: [xRows, 3], datatype: 'FP32', data: Array.from({ length: xRows * 3 }, (_, i) => i + 1) },
      { name: 'scale', datatype: 'FP32', ...scale },
    ],
  });

  beforeAll(async () => {
    ({ registry } = await standardRegistry());
    await registerFixture(registry, 'scalar', 'scalar-input.onnx');
    const config = testConfig(registry.uri, {
      models: [{ name: 'tabular', ref: 1 }, { name: 'fixed', ref: 1 }, { name: 'scalar', ref: 1 }],
      limits: { maxBatchRows: MAX_ROWS },
    });
    t = await buildTestApp(config, registry);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('an input the graph declares with shape [] is a rank-0 scalar', () => {
    test('metadata shows the scalar input with shape []', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/v2/models/scalar' });
      expect(r.json().inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 3] }, { name: 'scale', datatype: 'FP32', shape: [] }]);
    });

    test.each([[[]], [[1]]])('shape %j with one element is accepted and multiplies', async (shape) => {
      const r = await infer('/v2/models/scalar/infer', scalarRequest({ shape, data: [2.5] }, 2));
      expect(r.statusCode).toBe(200);
      expect(r.json().outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [2, 3], data: [2.5, 5, 7.5, 10, 12.5, 15] }]);
    });

    test.each([
      [[2], [1, 2]],
      [[1, 1], [1]],
      [[1000, 1000], [0]],
      [[3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]],
    ])('shape %j is a 400 naming the input and the scalar shape, never reaching onnxruntime', async (shape, data) => {
      const r = await infer('/v2/models/scalar/infer', scalarRequest({ shape, data }));
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({
        error: `input 'scale' shape: is ${JSON.stringify(shape).replace(/\s/g, '')} but input 'scale' of model 'scalar' is a scalar (rank 0, shape []): send shape [] or [1] with one element`,
      });
    });

    test('a scalar with the wrong element count is a 400', async () => {
      const r = await infer('/v2/models/scalar/infer', scalarRequest({ shape: [], data: [1, 2] }));
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ error: "input 'scale': data has 2 elements but shape [] needs 1" });
    });
  });

  describe('maxBatchRows applies to axis 0 of every input of rank >= 1', () => {
    test('rows over the limit are a 400 on a model that cannot batch (it has a scalar input)', async () => {
      const ok = await infer('/v2/models/scalar/infer', scalarRequest({ shape: [], data: [1] }, MAX_ROWS));
      expect(ok.statusCode).toBe(200);
      const r = await infer('/v2/models/scalar/infer', scalarRequest({ shape: [], data: [1] }, MAX_ROWS + 1));
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ error: `input 'x' shape: batch axis is ${MAX_ROWS + 1} rows; this server accepts at most ${MAX_ROWS} rows per request` });
    });

    test('a fixed axis 0 larger than maxBatchRows is refused too (unit, synthetic signature)', () => {
      const signature: GraphSignature = {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [8, 2], dims: [8, 2], shapeKnown: true }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [8, 2], dims: [8, 2], shapeKnown: true }],
        batchable: false,
        notBatchableReason: "axis 0 of input 'x' is fixed at 8",
      };
      const body = { inputs: [{ name: 'x', shape: [8, 2], datatype: 'FP32', data: new Array(16).fill(0) }] };
      expect(() => parseInferRequest(body, 'm', signature, { maxBatchRows: 4 })).toThrow("input 'x' shape: batch axis is 8 rows; this server accepts at most 4 rows per request");
      expect(parseInferRequest(body, 'm', signature, { maxBatchRows: 8 }).inputs[0].dims).toEqual([8, 2]);
    });
  });

  describe('binary_data parameters: false is JSON mode (accepted), true is the binary extension (refused)', () => {
    const row = () => tabularReference().rows[0];
    const tabular = (rest: Record<string, unknown>) => ({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row() }], ...rest });

    test('a Triton client request in JSON mode (binary_data_output: false, binary_data: false) is answered', async () => {
      const r = await infer('/v2/models/tabular/infer', tabular({
        parameters: { binary_data_output: false },
        outputs: [{ name: 'label', parameters: { binary_data: false } }],
      }));
      expect(r.statusCode).toBe(200);
      expect(r.json().outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [1], data: [tabularReference().models['tabular-mlp.onnx'].labels[0]] }]);
      const input = await infer('/v2/models/tabular/infer', { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row(), parameters: { binary_data: false } }] });
      expect(input.statusCode).toBe(200);
    });

    test.each([
      ['parameters', { parameters: { binary_data_output: true } }, 'parameters.binary_data_output: the binary tensor data extension is not supported; outputs are returned as JSON'],
      ['output parameters', { outputs: [{ name: 'label', parameters: { binary_data: true } }] }, 'outputs[0].parameters.binary_data: the binary tensor data extension is not supported; send tensor data as JSON'],
      ['a non-boolean value', { parameters: { binary_data_output: 'false' } }, 'parameters.binary_data_output: the binary tensor data extension is not supported; outputs are returned as JSON (only false, meaning JSON, is accepted; got string "false")'],
    ])('true (or anything but false) in %s is a 400', async (_where, rest, error) => {
      const r = await infer('/v2/models/tabular/infer', tabular(rest));
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ error });
    });
  });
});

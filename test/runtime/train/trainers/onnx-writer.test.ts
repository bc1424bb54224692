import * as ort from 'onnxruntime-node';
import {
  ONNX_IR_VERSION, ONNX_OPSET, OnnxGraphBuilder, TensorDataType, readModelSummary,
} from '../../../../src/runtime/train/onnx';

/** input FP32 [N, 2] -> Cast(double) -> MatMul W -> Add b -> Softmax -> ArgMax -> Gather(classes); Cast(float). */
function smallClassifier(): Uint8Array {
  const g = new OnnxGraphBuilder('small');
  g.input('input', TensorDataType.FLOAT, ['N', 2]);
  const [x] = g.node('Cast', ['input'], { attributes: { to: { int: TensorDataType.DOUBLE } } });
  const w = g.initializer('w', [2, 3], { type: TensorDataType.DOUBLE, values: [1, 0, -1, 0, 1, 2] });
  const b = g.initializer('b', [3], { type: TensorDataType.DOUBLE, values: [0.5, 0, -0.5] });
  const [m] = g.node('MatMul', [x, w]);
  const [z] = g.node('Add', [m, b]);
  const [p] = g.node('Softmax', [z], { attributes: { axis: { int: 1 } } });
  const [i] = g.node('ArgMax', [p], { attributes: { axis: { int: 1 }, keepdims: { int: 0 } } });
  const classes = g.initializer('classes', [3], { type: TensorDataType.INT64, values: [10, 20, 9007199254740991] });
  g.node('Gather', [classes, i], { outputs: ['label'], attributes: { axis: { int: 0 } } });
  g.node('Cast', [p], { outputs: ['probabilities'], attributes: { to: { int: TensorDataType.FLOAT } } });
  g.output('label', TensorDataType.INT64, ['N']);
  g.output('probabilities', TensorDataType.FLOAT, ['N', 3]);
  return g.toBytes({ producerVersion: '1.2.3', docString: 'a test', metadata: { zeta: 'last', alpha: 'first' } });
}

describe('ONNX writer', () => {
  it('writes a model onnxruntime-node loads, with the declared signature, and runs it correctly', async () => {
    const session = await ort.InferenceSession.create(smallClassifier());
    try {
      expect(session.inputNames).toEqual(['input']);
      expect(session.outputNames).toEqual(['label', 'probabilities']);
      const rows = [[1, 2], [-3, 0.5], [0, 0]];
      const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [3, 2]) });
      expect(out.probabilities.dims).toEqual([3, 3]);
      expect(out.label.dims).toEqual([3]);
      const labels = Array.from(out.label.data as BigInt64Array);
      rows.forEach(([a, c], r) => {
        const z = [a + 0.5, c, -a + 2 * c - 0.5];
        const e = z.map((v) => Math.exp(v - Math.max(...z)));
        const s = e.reduce((u, v) => u + v, 0);
        const p = e.map((v) => v / s);
        for (let k = 0; k < 3; k++) expect((out.probabilities.data as Float32Array)[r * 3 + k]).toBeCloseTo(p[k], 6);
        expect(labels[r]).toBe(BigInt([10, 20, 9007199254740991][p.indexOf(Math.max(...p))]));
      });
    } finally {
      await session.release();
    }
  });

  it('records IR version 8, opset 17 of the default domain, producer and sorted metadata', () => {
    const s = readModelSummary(smallClassifier());
    expect(ONNX_IR_VERSION).toBe(8);
    expect(ONNX_OPSET).toBe(17);
    expect(s.irVersion).toBe(8);
    expect(s.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(s.producerName).toBe('cdk-mlops');
    expect(s.producerVersion).toBe('1.2.3');
    expect(s.graphName).toBe('small');
    expect(s.opTypes).toEqual(['Cast', 'MatMul', 'Add', 'Softmax', 'ArgMax', 'Gather', 'Cast']);
    expect(s.metadata).toEqual({ alpha: 'first', zeta: 'last' });
  });

  it('is deterministic: the same graph gives the same bytes', () => {
    expect(Buffer.from(smallClassifier()).equals(Buffer.from(smallClassifier()))).toBe(true);
  });

  it('puts the ModelProto fields at the numbers of onnx.proto (ir_version = 1, graph = 7, opset_import = 8)', () => {
    const bytes = smallClassifier();
    // First field: tag (1 << 3 | varint) = 0x08, value 8.
    expect([bytes[0], bytes[1]]).toEqual([0x08, 8]);
    const tags = new Set<number>();
    let i = 0;
    while (i < bytes.length) {
      let tag = 0;
      let shift = 0;
      let b: number;
      do { b = bytes[i++]; tag |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
      tags.add(tag >>> 3);
      const wire = tag & 7;
      let len = 0;
      shift = 0;
      do { b = bytes[i++]; len += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
      if (wire === 2) i += len;
      else if (wire !== 0) throw new Error(`unexpected wire type ${wire}`);
    }
    expect([...tags].sort((a, b) => a - b)).toEqual([1, 2, 3, 6, 7, 8, 14]);
  });

  it('refuses a malformed graph with a message that names the problem', () => {
    const g = new OnnxGraphBuilder('bad');
    g.input('input', TensorDataType.FLOAT, ['N', 2]);
    expect(() => g.node('Relu', ['nowhere'])).toThrow('ONNX graph bad: Relu input nowhere is not defined');
    expect(() => g.input('input', TensorDataType.FLOAT, [1])).toThrow('ONNX graph bad: input is defined twice');
    expect(() => g.initializer('w', [2, 2], { type: TensorDataType.DOUBLE, values: [1, 2, 3] })).toThrow('ONNX initializer w: dims [2, 2] hold 4 values, got 3');
    expect(() => g.initializer('i', [1], { type: TensorDataType.INT64, values: [0.5] })).toThrow('INT64 initializer value 0.5 is not a safe integer');
    expect(() => g.output('missing', TensorDataType.FLOAT, ['N'])).toThrow('ONNX graph bad: output missing is not produced by any node');
    expect(() => g.toBytes({ producerVersion: '0' })).toThrow('ONNX graph bad has no outputs');
  });
});

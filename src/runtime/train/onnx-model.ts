import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { InputError } from '../errors';
import type { TensorDatatype, TensorSpec } from '../registry/types';
import type { Prediction } from './trainers/types';

/**
 * An ONNX model run with onnxruntime-node to predict on tabular rows: how the harness
 * evaluates an external trainer's model, checks a built-in model's export, and re-evaluates the
 * champion on a candidate's test split.
 *
 * What it accepts (the convention of the built-in trainers, which an external command must
 * follow): one FP32 or FP64 input of shape [N, d]; for classification an integer label output
 * of shape [N] (named `label`, or the only integer tensor) and a float probability output of
 * shape [N, k] with columns in ascending class order (named `probabilities`, or the only float
 * tensor of rank 2; a ZipMap sequence of maps is refused: export with zipmap disabled); for
 * regression one float output of shape [N] or [N, 1] (named `variable`, or the only output).
 */
export interface OnnxPredictor {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  predict(x: Float64Array, n: number): Promise<Prediction>;
  release(): Promise<void>;
}

const ORT_TO_OIP: Record<string, TensorDatatype> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

function spec(m: InferenceSession.ValueMetadata, what: string): TensorSpec {
  if (!m.isTensor) throw new InputError(what, `'${m.name}' is not a tensor (a sequence or map, e.g. a ZipMap); export the model with plain tensor outputs`);
  const datatype = ORT_TO_OIP[m.type];
  if (!datatype) throw new InputError(what, `'${m.name}' has the unsupported element type ${m.type}`);
  return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)) };
}

/** Loads `bytes` and checks it against the task and the number of features. */
export async function loadOnnxPredictor(
  bytes: Uint8Array,
  task: 'classification' | 'regression',
  featureCount: number,
  what = 'ONNX model',
): Promise<OnnxPredictor> {
  const ort = await import('onnxruntime-node');
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  } catch (e) {
    throw new InputError(what, `onnxruntime cannot load it: ${(e as Error).message}`);
  }
  try {
    const inputs = session.inputMetadata.map((m) => spec(m, what));
    const outputs = session.outputMetadata.map((m) => spec(m, what));
    if (inputs.length !== 1) throw new InputError(what, `has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); expected one [N, ${featureCount}] float tensor`);
    const input = inputs[0];
    if (input.datatype !== 'FP32' && input.datatype !== 'FP64') throw new InputError(what, `input '${input.name}' is ${input.datatype}; expected FP32 or FP64`);
    if (input.shape.length !== 2 || (input.shape[1] !== -1 && input.shape[1] !== featureCount)) {
      throw new InputError(what, `input '${input.name}' has shape [${input.shape.join(', ')}]; expected [N, ${featureCount}] (one column per feature)`);
    }
    const isInt = (t: TensorSpec): boolean => /INT/.test(t.datatype);
    const isFloat = (t: TensorSpec): boolean => /^FP/.test(t.datatype);
    const pick = (name: string, ok: (t: TensorSpec) => boolean, describe: string): TensorSpec => {
      const named = outputs.find((o) => o.name === name);
      if (named) {
        if (!ok(named)) throw new InputError(what, `output '${name}' is ${named.datatype} [${named.shape.join(', ')}]; expected ${describe}`);
        return named;
      }
      const candidates = outputs.filter(ok);
      if (candidates.length !== 1) throw new InputError(what, `has no output '${name}' and ${candidates.length} outputs that could be ${describe} (${outputs.map((o) => `${o.name} ${o.datatype} [${o.shape.join(', ')}]`).join('; ')})`);
      return candidates[0];
    };
    let labelOut: TensorSpec | undefined;
    let probOut: TensorSpec | undefined;
    let valueOut: TensorSpec | undefined;
    if (task === 'classification') {
      labelOut = pick('label', (t) => isInt(t) && t.shape.length === 1, 'an integer label tensor [N]');
      probOut = pick('probabilities', (t) => isFloat(t) && t.shape.length === 2, 'a float probability tensor [N, k]');
    } else {
      valueOut = pick('variable', (t) => isFloat(t) && (t.shape.length === 1 || (t.shape.length === 2 && (t.shape[1] === 1 || t.shape[1] === -1))), 'a float tensor [N] or [N, 1]');
    }
    const fetch = [labelOut, probOut, valueOut].filter((t): t is TensorSpec => !!t).map((t) => t.name);
    return {
      inputs,
      outputs,
      async predict(x: Float64Array, n: number): Promise<Prediction> {
        const d = featureCount;
        const labels = labelOut ? new Float64Array(n) : undefined;
        const values = valueOut ? new Float64Array(n) : undefined;
        let probabilities: Float64Array | undefined;
        const batch = 8192;
        for (let start = 0; start < n; start += batch) {
          const rows = Math.min(batch, n - start);
          const slice = x.subarray(start * d, (start + rows) * d);
          const data = input.datatype === 'FP32' ? Float32Array.from(slice) : Float64Array.from(slice);
          const feeds: Record<string, OrtTensor> = { [input.name]: new ort.Tensor(input.datatype === 'FP32' ? 'float32' : 'float64', data, [rows, d]) };
          const out = await session.run(feeds, fetch);
          if (labelOut && labels) {
            const t = out[labelOut.name].data as ArrayLike<number | bigint>;
            for (let i = 0; i < rows; i++) labels[start + i] = Number(t[i]);
          }
          if (probOut) {
            const t = out[probOut.name];
            const k = Number(t.dims[1]);
            probabilities ??= new Float64Array(n * k);
            probabilities.set(Float64Array.from(t.data as ArrayLike<number>), start * k);
          }
          if (valueOut && values) {
            const t = out[valueOut.name].data as ArrayLike<number>;
            for (let i = 0; i < rows; i++) values[start + i] = t[i];
          }
        }
        return { ...(labels ? { labels } : {}), ...(probabilities ? { probabilities } : {}), ...(values ? { values } : {}) };
      },
      release: () => session.release(),
    };
  } catch (e) {
    await session.release();
    throw e;
  }
}

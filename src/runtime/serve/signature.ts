import type { InferenceSession } from 'onnxruntime-node';
import { oipDatatype } from './datatypes';
import type { TensorDatatype } from '../registry/types';

/** One input or output of a served model, as read from the ONNX graph. */
export interface ServedTensor {
  readonly name: string;
  readonly datatype: TensorDatatype;
  /** Shape as the Open Inference Protocol shows it: -1 for a dynamic axis. */
  readonly shape: readonly number[];
  /**
   * Shape as the graph declares it: a number for a fixed axis, the symbol (`"N"`,
   * `"batch_size"`) or `"?"` for a dynamic one. Empty when the graph leaves the shape undefined.
   */
  readonly dims: readonly (number | string)[];
  /**
   * False when the graph declares no axes: shape `[]` (rank 0) or no shape at all, which
   * onnxruntime reports alike. Serving treats such an input as a rank-0 scalar (see
   * `parseInferRequest`).
   */
  readonly shapeKnown: boolean;
}

/** What serving needs to know about a model's graph. */
export interface GraphSignature {
  readonly inputs: readonly ServedTensor[];
  readonly outputs: readonly ServedTensor[];
  /** True when axis 0 of every input and output is dynamic, so requests can be stacked along it. */
  readonly batchable: boolean;
  /** Why it is not batchable (for the log line), when it is not. */
  readonly notBatchableReason?: string;
}

function tensorOf(kind: 'input' | 'output', meta: InferenceSession.ValueMetadata): ServedTensor {
  if (!meta.isTensor) throw new Error(`${kind} '${meta.name}' is not a tensor (sequences and maps cannot be served over the Open Inference Protocol)`);
  const datatype = oipDatatype(meta.type);
  if (!datatype) throw new Error(`${kind} '${meta.name}' has element type '${meta.type}', which the Open Inference Protocol cannot carry`);
  const dims = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : '?'));
  return {
    name: meta.name,
    datatype,
    dims,
    shape: dims.map((d) => (typeof d === 'number' ? d : -1)),
    shapeKnown: meta.shape.length > 0,
  };
}

/**
 * Reads the signature of a loaded session from onnxruntime's metadata (`inputMetadata`,
 * `outputMetadata`), and decides whether the model can be batched. Throws when an input or
 * output is not a tensor of a datatype the protocol carries.
 */
export function readSignature(session: Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>): GraphSignature {
  const inputs = session.inputMetadata.map((m) => tensorOf('input', m));
  const outputs = session.outputMetadata.map((m) => tensorOf('output', m));
  let reason: string | undefined;
  for (const [kind, list] of [['input', inputs], ['output', outputs]] as const) {
    for (const t of list) {
      if (reason) break;
      if (!t.shapeKnown || t.dims.length === 0) reason = `${kind} '${t.name}' has no declared batch axis`;
      else if (typeof t.dims[0] === 'number') reason = `axis 0 of ${kind} '${t.name}' is fixed at ${t.dims[0]}`;
    }
  }
  return { inputs, outputs, batchable: reason === undefined, notBatchableReason: reason };
}

/** Formats a shape for messages: `[-1,30]`. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => (typeof d === 'number' ? String(d) : -1)).join(',')}]`;
}

import { TensorData, fromFloat16Bits } from './datatypes';
import type { TensorDatatype } from '../registry/types';

/** One output tensor of an inference, ready to be sent. */
export interface OutputTensor {
  readonly name: string;
  readonly datatype: TensorDatatype;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** The fields of an OIP inference response other than the outputs. */
export interface InferResponseHead {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id?: string;
  readonly parameters?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Writes the JSON of a tensor's data, flat and row-major. Hand-written rather than
 * `JSON.stringify(Array.from(...))` for two reasons: 64-bit integers keep every digit (a
 * BigInt is written as its decimal digits, which JSON.stringify refuses), and it avoids
 * building an intermediate array. Non-finite floats, which JSON cannot carry, become null.
 */
export function tensorDataJson(datatype: TensorDatatype, data: TensorData): string {
  switch (datatype) {
    case 'BYTES':
      return JSON.stringify(data);
    case 'BOOL': {
      const a = data as Uint8Array;
      let s = '[';
      for (let i = 0; i < a.length; i++) s += (i ? ',' : '') + (a[i] ? 'true' : 'false');
      return s + ']';
    }
    case 'FP16': {
      const a = data as Uint16Array;
      let s = '[';
      for (let i = 0; i < a.length; i++) {
        const v = fromFloat16Bits(a[i]);
        s += (i ? ',' : '') + (Number.isFinite(v) ? String(v) : 'null');
      }
      return s + ']';
    }
    case 'FP32': case 'FP64': {
      const a = data as Float32Array | Float64Array;
      for (let i = 0; i < a.length; i++) {
        if (!Number.isFinite(a[i])) return JSON.stringify(Array.from(a));
      }
      return `[${a.join(',')}]`;
    }
    default:
      // Integer typed arrays (including BigInt64/BigUint64): join writes exact decimal digits.
      return `[${(data as Int32Array).join(',')}]`;
  }
}

/** Serializes an OIP inference response: `model_name`, `model_version`, `id`, `parameters`, `outputs`. */
export function inferResponseJson(head: InferResponseHead, outputs: readonly OutputTensor[]): string {
  let s = `{"model_name":${JSON.stringify(head.modelName)},"model_version":${JSON.stringify(head.modelVersion)}`;
  if (head.id !== undefined) s += `,"id":${JSON.stringify(head.id)}`;
  if (head.parameters !== undefined) s += `,"parameters":${JSON.stringify(head.parameters)}`;
  s += ',"outputs":[';
  outputs.forEach((o, i) => {
    s += `${i ? ',' : ''}{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":[${o.dims.join(',')}],"data":${tensorDataJson(o.datatype, o.data)}}`;
  });
  return s + ']}';
}

/** Plain JSON value of one element (for prediction logs): numbers, strings, booleans; 64-bit integers beyond 2^53 as strings. */
export function elementValue(datatype: TensorDatatype, data: TensorData, i: number): number | string | boolean | null {
  const v = data[i];
  if (datatype === 'BOOL') return v !== 0;
  if (datatype === 'FP16') return fromFloat16Bits(v as number);
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

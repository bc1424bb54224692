import type { Tensor } from 'onnxruntime-node';
import type { TensorDatatype } from '../registry/types';

/**
 * Open Inference Protocol datatypes and their onnxruntime counterparts: the element type, the
 * typed array that holds it, and the range of values a JSON number may take for it.
 */

/** Every OIP datatype, in the protocol's order. */
export const OIP_DATATYPES: readonly TensorDatatype[] = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES',
];

/** onnxruntime element type of each OIP datatype. */
export const ORT_TYPE: Readonly<Record<TensorDatatype, Tensor.Type>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const FROM_ORT: Readonly<Partial<Record<Tensor.Type, TensorDatatype>>> = Object.fromEntries(
  Object.entries(ORT_TYPE).map(([oip, ort]) => [ort, oip as TensorDatatype]),
);

/** OIP datatype of an onnxruntime element type, or undefined for types OIP cannot carry (int4, ...). */
export function oipDatatype(type: Tensor.Type): TensorDatatype | undefined {
  return FROM_ORT[type];
}

/** The data of a tensor as held in memory: a typed array, or strings for BYTES. */
export type TensorData =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array | string[];

/** Allocates the array holding `length` elements of `datatype` (zeros, or empty strings). */
export function allocate(datatype: TensorDatatype, length: number): TensorData {
  switch (datatype) {
    case 'BOOL': case 'UINT8': return new Uint8Array(length);
    case 'INT8': return new Int8Array(length);
    case 'UINT16': case 'FP16': return new Uint16Array(length);
    case 'INT16': return new Int16Array(length);
    case 'UINT32': return new Uint32Array(length);
    case 'INT32': return new Int32Array(length);
    case 'UINT64': return new BigUint64Array(length);
    case 'INT64': return new BigInt64Array(length);
    case 'FP32': return new Float32Array(length);
    case 'FP64': return new Float64Array(length);
    case 'BYTES': return new Array<string>(length).fill('');
  }
}

/** Inclusive integer range of each integer datatype that a JSON number can express exactly. */
export const INTEGER_RANGE: Readonly<Partial<Record<TensorDatatype, readonly [number, number]>>> = {
  UINT8: [0, 255],
  UINT16: [0, 65_535],
  UINT32: [0, 4_294_967_295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32_768, 32_767],
  INT32: [-2_147_483_648, 2_147_483_647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Largest finite magnitude of each floating-point datatype. */
export const FLOAT_MAX: Readonly<Partial<Record<TensorDatatype, number>>> = {
  FP16: 65_504,
  FP32: 3.4028234663852886e38,
  FP64: Number.MAX_VALUE,
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE-754 half-precision bits of a number (round to nearest, ties to even). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** The number that half-precision bits stand for. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

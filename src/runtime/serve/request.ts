import { InputError, describeValue } from '../errors';
import { FLOAT_MAX, INTEGER_RANGE, OIP_DATATYPES, TensorData, allocate, toFloat16Bits } from './datatypes';
import { GraphSignature, ServedTensor, formatShape } from './signature';
import type { TensorDatatype } from '../registry/types';

/** One validated input tensor, converted to the array onnxruntime takes. */
export interface ParsedInput {
  readonly name: string;
  readonly datatype: TensorDatatype;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** A validated Open Inference Protocol inference request. */
export interface ParsedRequest {
  /** The request's `id`, when it gave one. */
  readonly id?: string;
  /** Inputs in the model's input order. */
  readonly inputs: readonly ParsedInput[];
  /** Length of the batch axis (axis 0) shared by the inputs; 1 when the model has none. */
  readonly rows: number;
  /** Names of the outputs asked for, in the order asked; undefined for all. */
  readonly outputs?: readonly string[];
  /** The request's `parameters`. */
  readonly parameters?: Readonly<Record<string, string | number | boolean>>;
}

/** Limits applied while parsing. */
export interface RequestLimits {
  /** Most rows (axis-0 length) in one request. */
  readonly maxBatchRows: number;
}

/**
 * Parameters of other servers' protocol extensions that this server does not implement; a
 * request using them is refused rather than answered in a form the client did not ask for.
 */
const UNSUPPORTED_PARAMETERS: Readonly<Record<string, string>> = {
  binary_data: 'the binary tensor data extension is not supported; send tensor data as JSON',
  binary_data_size: 'the binary tensor data extension is not supported; send tensor data as JSON',
  binary_data_output: 'the binary tensor data extension is not supported; outputs are returned as JSON',
  classification: 'the classification extension is not supported; request the model outputs and read the class from them',
  shared_memory_region: 'the shared-memory extension is not supported',
  shared_memory_byte_size: 'the shared-memory extension is not supported',
  shared_memory_offset: 'the shared-memory extension is not supported',
};

/**
 * Flags of the binary extension that standard clients (tritonclient in JSON mode) send as
 * `false`: false asks for what this server does anyway (JSON), so only true is refused.
 */
const JSON_MODE_FLAGS = new Set(['binary_data', 'binary_data_output']);

const REQUEST_FIELDS = new Set(['id', 'parameters', 'inputs', 'outputs']);
const INPUT_FIELDS = new Set(['name', 'shape', 'datatype', 'parameters', 'data']);
const OUTPUT_FIELDS = new Set(['name', 'parameters']);
const DATATYPES = new Set<string>(OIP_DATATYPES);

function fail(where: string, message: string): never {
  throw new InputError(where, message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${describeValue(v)}`;
}

function checkFields(where: string, obj: Record<string, unknown>, allowed: Set<string>): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) fail(where, `unknown field '${key}'; expected only ${[...allowed].join(', ')}`);
  }
}

function parseParameters(where: string, value: unknown): Record<string, string | number | boolean> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) fail(where, `must be an object of name: string | number | boolean, got ${kindOf(value)}`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      fail(`${where}.${k}`, `must be a string, number or boolean, got ${kindOf(v)}`);
    }
    const unsupported = UNSUPPORTED_PARAMETERS[k];
    if (unsupported && !(JSON_MODE_FLAGS.has(k) && v === false)) {
      fail(`${where}.${k}`, JSON_MODE_FLAGS.has(k) && v !== true ? `${unsupported} (only false, meaning JSON, is accepted; got ${kindOf(v)})` : unsupported);
    }
  }
  return value as Record<string, string | number | boolean>;
}

/**
 * Stores element `i` of an input, returning what was expected when the value is not
 * acceptable for the datatype (undefined when it was stored).
 */
type ElementSetter = (i: number, v: unknown) => string | undefined;

function setterFor(datatype: TensorDatatype, data: TensorData): ElementSetter {
  switch (datatype) {
    case 'BOOL': {
      const a = data as Uint8Array;
      return (i, v) => {
        if (typeof v !== 'boolean') return 'true or false';
        a[i] = v ? 1 : 0;
        return undefined;
      };
    }
    case 'BYTES': {
      const a = data as string[];
      return (i, v) => {
        if (typeof v !== 'string') return 'a string';
        a[i] = v;
        return undefined;
      };
    }
    case 'FP16': case 'FP32': case 'FP64': {
      const max = FLOAT_MAX[datatype]!;
      const expect = `a finite number within the ${datatype} range (magnitude at most ${max})`;
      if (datatype === 'FP16') {
        const a = data as Uint16Array;
        return (i, v) => {
          if (typeof v !== 'number' || !(Math.abs(v) <= max)) return expect;
          a[i] = toFloat16Bits(v);
          return undefined;
        };
      }
      const a = data as Float32Array | Float64Array;
      return (i, v) => {
        if (typeof v !== 'number' || !(Math.abs(v) <= max)) return expect;
        a[i] = v;
        return undefined;
      };
    }
    default: {
      const [lo, hi] = INTEGER_RANGE[datatype]!;
      const wide = datatype === 'INT64' || datatype === 'UINT64';
      const expect = wide
        ? `an integer in [${lo}, ${hi}] (${datatype} values beyond 2^53 cannot be carried exactly by a JSON number)`
        : `an integer in the ${datatype} range [${lo}, ${hi}]`;
      if (wide) {
        const a = data as BigInt64Array | BigUint64Array;
        return (i, v) => {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return expect;
          a[i] = BigInt(v);
          return undefined;
        };
      }
      const a = data as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
      return (i, v) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return expect;
        a[i] = v;
        return undefined;
      };
    }
  }
}

/**
 * Reads `data` (flat, or nested exactly as `dims`) into a new array, checking each element.
 * Row-major order, as the protocol requires.
 */
function readData(where: string, datatype: TensorDatatype, dims: readonly number[], count: number, data: unknown[]): TensorData {
  const out = allocate(datatype, count);
  const set = setterFor(datatype, out);
  const bad = (i: number, v: unknown, expect: string): never =>
    fail(where, `element ${i} is ${Array.isArray(v) ? 'an array' : describeValue(v)}; ${datatype} expects ${expect}`);
  const nested = dims.length > 1 && data.length > 0 && Array.isArray(data[0]);
  if (!nested) {
    if (data.length !== count) {
      fail(where, `data has ${data.length} elements but shape ${formatShape(dims)} needs ${count}`);
    }
    for (let i = 0; i < count; i++) {
      const v = data[i];
      const expect = set(i, v);
      if (expect !== undefined) bad(i, v, expect);
    }
    return out;
  }
  let n = 0;
  const walk = (arr: unknown[], depth: number, path: number[]): void => {
    if (arr.length !== dims[depth]) {
      const at = path.length ? `data${path.map((p) => `[${p}]`).join('')}` : 'data';
      fail(where, `${at} has ${arr.length} entries but axis ${depth} of shape ${formatShape(dims)} is ${dims[depth]} (nested data must follow the shape exactly, or be flat)`);
    }
    if (depth === dims.length - 1) {
      for (let j = 0; j < arr.length; j++) {
        const v = arr[j];
        const expect = set(n, v);
        if (expect !== undefined) bad(n, v, expect);
        n++;
      }
      return;
    }
    for (let j = 0; j < arr.length; j++) {
      const sub = arr[j];
      if (!Array.isArray(sub)) {
        fail(where, `data${[...path, j].map((p) => `[${p}]`).join('')} is ${kindOf(sub)}; nested data must follow shape ${formatShape(dims)} (an array at axis ${depth + 1})`);
      }
      walk(sub, depth + 1, [...path, j]);
    }
  };
  walk(data, 0, []);
  return out;
}

function parseShape(where: string, value: unknown): number[] {
  if (!Array.isArray(value)) fail(where, `must be an array of positive integers, got ${kindOf(value)}`);
  if (value.length > 32) fail(where, `has ${value.length} axes; at most 32 are accepted`);
  for (let i = 0; i < value.length; i++) {
    const d = value[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 1) {
      fail(where, `axis ${i} is ${describeValue(d)}; each axis must be a positive integer`);
    }
  }
  return value as number[];
}

/**
 * Checks a request shape against the graph's and returns the dims to feed onnxruntime.
 *
 * An input the graph declares with shape `[]` is rank 0, a scalar. (onnxruntime reports an
 * input whose shape the graph leaves undefined the same way, so such inputs are treated as
 * scalars too.) The protocol has no separate scalar form, so a scalar is accepted as shape
 * `[]` or as shape `[1]` with one element; either way it is fed as rank 0. For every input of
 * rank >= 1, axis 0 may not exceed `maxBatchRows`, whether the graph declares it dynamic or fixed.
 */
function checkAgainstModel(where: string, model: string, spec: ServedTensor, dims: readonly number[], limits: RequestLimits): readonly number[] {
  if (spec.dims.length === 0) {
    if (dims.length === 0 || (dims.length === 1 && dims[0] === 1)) return [];
    fail(where, `is ${formatShape(dims)} but input '${spec.name}' of model '${model}' is a scalar (rank 0, shape []): send shape [] or [1] with one element`);
  }
  if (dims.length !== spec.dims.length) {
    fail(where, `has ${dims.length} axes (${formatShape(dims)}) but input '${spec.name}' of model '${model}' has ${spec.dims.length}: ${formatShape(spec.dims)}`);
  }
  for (let i = 0; i < dims.length; i++) {
    const expected = spec.dims[i];
    if (typeof expected === 'number' && dims[i] !== expected) {
      fail(where, `axis ${i} is ${dims[i]} but input '${spec.name}' of model '${model}' needs ${expected} (shape ${formatShape(spec.dims)}, -1 = any)`);
    }
  }
  if (dims[0] > limits.maxBatchRows) {
    fail(where, `batch axis is ${dims[0]} rows; this server accepts at most ${limits.maxBatchRows} rows per request`);
  }
  return dims;
}

/**
 * Validates an inference request body against a model's signature and converts its tensors,
 * before anything reaches onnxruntime. Throws an `InputError` (answered 400) that names the
 * field, the value received and what was expected.
 */
export function parseInferRequest(body: unknown, model: string, signature: GraphSignature, limits: RequestLimits): ParsedRequest {
  if (!isObject(body)) fail('request body', `must be a JSON object (an OIP inference request), got ${kindOf(body)}`);
  checkFields('request body', body, REQUEST_FIELDS);
  const { id, inputs, outputs } = body;
  if (id !== undefined && typeof id !== 'string') fail('id', `must be a string, got ${kindOf(id)}`);
  const parameters = parseParameters('parameters', body.parameters);
  if (!Array.isArray(inputs)) fail('inputs', inputs === undefined ? 'is missing; an inference request needs an array of input tensors' : `must be an array of input tensors, got ${kindOf(inputs)}`);

  const byName = new Map<string, ParsedInput>();
  const symbols = new Map<string, { value: number; input: string }>();
  for (let k = 0; k < inputs.length; k++) {
    const raw = inputs[k];
    const at = `inputs[${k}]`;
    if (!isObject(raw)) fail(at, `must be an object {name, shape, datatype, data}, got ${kindOf(raw)}`);
    checkFields(at, raw, INPUT_FIELDS);
    const { name, datatype, data } = raw;
    if (typeof name !== 'string') fail(`${at}.name`, name === undefined ? 'is missing' : `must be a string, got ${kindOf(name)}`);
    const spec = signature.inputs.find((s) => s.name === name);
    if (!spec) fail(`${at}.name`, `${describeValue(name)} is not an input of model '${model}'; its inputs are ${signature.inputs.map((s) => `'${s.name}'`).join(', ')}`);
    if (byName.has(name)) fail(`${at}.name`, `input '${name}' is given twice`);
    const where = `input '${name}'`;
    if (typeof datatype !== 'string') fail(`${where} datatype`, datatype === undefined ? 'is missing' : `must be a string, got ${kindOf(datatype)}`);
    if (!DATATYPES.has(datatype)) fail(`${where} datatype`, `${describeValue(datatype)} is not an Open Inference Protocol datatype (${OIP_DATATYPES.join(', ')})`);
    if (datatype !== spec.datatype) fail(`${where} datatype`, `is ${datatype} but model '${model}' takes ${spec.datatype}`);
    if (raw.shape === undefined) fail(`${where} shape`, 'is missing');
    const dims = checkAgainstModel(`${where} shape`, model, spec, parseShape(`${where} shape`, raw.shape), limits);
    spec.dims.forEach((d, i) => {
      if (typeof d !== 'string' || d === '?') return;
      const seen = symbols.get(d);
      if (seen && seen.value !== dims[i]) {
        fail(`${where} shape`, `axis ${i} is ${dims[i]} but the same axis ('${d}') of input '${seen.input}' is ${seen.value}; they must agree`);
      }
      if (!seen) symbols.set(d, { value: dims[i], input: name });
    });
    parseParameters(`${where} parameters`, raw.parameters);
    if (!Array.isArray(data)) fail(`${where} data`, data === undefined ? 'is missing' : `must be an array (flat, or nested as the shape), got ${kindOf(data)}`);
    let count = 1;
    for (const d of dims) count *= d;
    if (count > 16_777_216) fail(`${where} shape`, `${formatShape(dims)} has ${count} elements; at most 16777216 are accepted`);
    byName.set(name, { name, datatype, dims, data: readData(where, datatype, dims, count, data) });
  }
  const missing = signature.inputs.filter((s) => !byName.has(s.name));
  if (missing.length) {
    fail('inputs', `missing ${missing.map((s) => `'${s.name}' (${s.datatype} ${formatShape(s.dims)})`).join(', ')}; model '${model}' takes ${signature.inputs.map((s) => `'${s.name}'`).join(', ')}`);
  }
  const ordered = signature.inputs.map((s) => byName.get(s.name)!);
  const rows = signature.batchable ? ordered[0].dims[0] : 1;
  if (signature.batchable) {
    const other = ordered.find((p) => p.dims[0] !== rows);
    if (other) fail(`input '${other.name}' shape`, `batch axis is ${other.dims[0]} but input '${ordered[0].name}' has ${rows} rows; all inputs must have the same number of rows`);
  }

  let wanted: string[] | undefined;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) fail('outputs', `must be an array of {name}, got ${kindOf(outputs)}`);
    wanted = [];
    for (let k = 0; k < outputs.length; k++) {
      const o = outputs[k];
      const at = `outputs[${k}]`;
      if (!isObject(o)) fail(at, `must be an object {name, parameters?}, got ${kindOf(o)}`);
      checkFields(at, o, OUTPUT_FIELDS);
      if (typeof o.name !== 'string') fail(`${at}.name`, o.name === undefined ? 'is missing' : `must be a string, got ${kindOf(o.name)}`);
      if (!signature.outputs.some((s) => s.name === o.name)) {
        fail(`${at}.name`, `${describeValue(o.name)} is not an output of model '${model}'; its outputs are ${signature.outputs.map((s) => `'${s.name}'`).join(', ')}`);
      }
      if (wanted.includes(o.name)) fail(`${at}.name`, `output '${o.name}' is requested twice`);
      parseParameters(`${at}.parameters`, o.parameters);
      wanted.push(o.name);
    }
    if (wanted.length === 0) wanted = undefined;
  }
  return { id, inputs: ordered, rows, outputs: wanted, parameters };
}

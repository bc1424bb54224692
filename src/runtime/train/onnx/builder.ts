/**
 * A small writer for ONNX models: collect inputs, outputs, initializers and nodes, then
 * serialise a `ModelProto` with a fixed IR version and opset.
 */
import { AttributeType, TensorDataType, type TensorDataTypeValue, onnxType } from './proto';

/** IR version written into every model (ONNX 1.12's, read by every onnxruntime >= 1.12). */
export const ONNX_IR_VERSION = 8;
/** Opset of the default domain (`ai.onnx`) imported by every model. */
export const ONNX_OPSET = 17;
/** Value of `producer_name`. */
export const ONNX_PRODUCER = 'cdk-mlops';

/** One dimension of a value's shape: a fixed size, or a symbolic name for a dynamic axis. */
export type Dim = number | string;

/**
 * A node attribute, typed as ONNX needs it (a JavaScript number alone cannot say whether it
 * is an INT or a FLOAT attribute).
 */
export type Attribute =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly string: string }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] };

/** Data of an initializer, matched to its data type. */
export type TensorData =
  | { readonly type: typeof TensorDataType.FLOAT; readonly values: ArrayLike<number> }
  | { readonly type: typeof TensorDataType.DOUBLE; readonly values: ArrayLike<number> }
  | { readonly type: typeof TensorDataType.INT64; readonly values: ArrayLike<number> }
  | { readonly type: typeof TensorDataType.INT32; readonly values: ArrayLike<number> };

interface ValueInfo {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: ({ dimValue: number } | { dimParam: string })[] } } };
  docString?: string;
}

interface AttributeMessage {
  name: string;
  type: number;
  i?: number;
  f?: number;
  s?: Uint8Array;
  ints?: number[];
  floats?: number[];
}

interface NodeMessage {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: AttributeMessage[];
}

interface TensorMessage {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

/** Options of {@link OnnxGraphBuilder.toBytes}. */
export interface ModelOptions {
  /** `producer_version` (the package version). */
  readonly producerVersion: string;
  /** `doc_string` of the model. */
  readonly docString?: string;
  /** `metadata_props`, written in key order. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Serialises numbers little-endian as ONNX's `raw_data` expects. */
function rawData(data: TensorData): Uint8Array {
  const n = data.values.length;
  const width = data.type === TensorDataType.FLOAT || data.type === TensorDataType.INT32 ? 4 : 8;
  const bytes = new Uint8Array(n * width);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    const v = data.values[i];
    switch (data.type) {
      case TensorDataType.FLOAT:
        view.setFloat32(i * 4, v, true);
        break;
      case TensorDataType.DOUBLE:
        view.setFloat64(i * 8, v, true);
        break;
      case TensorDataType.INT32:
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
          throw new RangeError(`INT32 initializer value ${v} is not a 32-bit integer`);
        }
        view.setInt32(i * 4, v, true);
        break;
      case TensorDataType.INT64:
        if (!Number.isSafeInteger(v)) throw new RangeError(`INT64 initializer value ${v} is not a safe integer`);
        view.setBigInt64(i * 8, BigInt(v), true);
        break;
    }
  }
  return bytes;
}

function attributeMessage(name: string, value: Attribute): AttributeMessage {
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('string' in value) return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.string) };
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: [...value.ints] };
  return { name, type: AttributeType.FLOATS, floats: [...value.floats] };
}

/**
 * Builds one ONNX graph in the default domain. Names must be unique; the builder checks that
 * every node input is a graph input, an initializer or an earlier node's output, so a graph it
 * writes is topologically sorted.
 */
export class OnnxGraphBuilder {
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers: TensorMessage[] = [];
  private readonly nodes: NodeMessage[] = [];
  private readonly defined = new Set<string>();
  private counter = 0;

  /** @param name the graph's name. */
  constructor(public readonly name: string) {}

  /** Declares a graph input. */
  public input(name: string, elemType: TensorDataTypeValue, shape: readonly Dim[]): string {
    this.define(name);
    this.inputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  /** Declares a graph output; `name` must be produced by a node (or be an input). */
  public output(name: string, elemType: TensorDataTypeValue, shape: readonly Dim[]): void {
    if (!this.defined.has(name)) throw new Error(`ONNX graph ${this.name}: output ${name} is not produced by any node`);
    this.outputs.push(valueInfo(name, elemType, shape));
  }

  /** Adds a constant tensor; returns its name. */
  public initializer(name: string, dims: readonly number[], data: TensorData): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.values.length) {
      throw new Error(`ONNX initializer ${name}: dims [${dims.join(', ')}] hold ${size} values, got ${data.values.length}`);
    }
    this.define(name);
    this.initializers.push({ name, dims: [...dims], dataType: data.type, rawData: rawData(data) });
    return name;
  }

  /**
   * Adds a node; returns its output names. Outputs not given are named `<opType>_<n>`.
   */
  public node(
    opType: string,
    inputs: readonly string[],
    options: { readonly outputs?: readonly string[]; readonly attributes?: Readonly<Record<string, Attribute>>; readonly domain?: string } = {},
  ): string[] {
    for (const i of inputs) {
      if (i !== '' && !this.defined.has(i)) throw new Error(`ONNX graph ${this.name}: ${opType} input ${i} is not defined`);
    }
    const id = this.counter++;
    const outputs = options.outputs ? [...options.outputs] : [`${opType.toLowerCase()}_${id}`];
    for (const o of outputs) this.define(o);
    const attribute = Object.keys(options.attributes ?? {}).sort().map((k) => attributeMessage(k, options.attributes![k]));
    this.nodes.push({ input: [...inputs], output: outputs, name: `${opType}_${id}`, opType, domain: options.domain ?? '', attribute });
    return outputs;
  }

  /** Serialises the model. */
  public toBytes(options: ModelOptions): Uint8Array {
    if (this.outputs.length === 0) throw new Error(`ONNX graph ${this.name} has no outputs`);
    const metadata = options.metadata ?? {};
    const model = {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: ONNX_PRODUCER,
      producerVersion: options.producerVersion,
      docString: options.docString ?? '',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.keys(metadata).sort().map((key) => ({ key, value: metadata[key] })),
    };
    const type = onnxType('ModelProto');
    const problem = type.verify(model);
    if (problem) throw new Error(`ONNX model ${this.name} is malformed: ${problem}`);
    return type.encode(type.fromObject(model)).finish();
  }

  private define(name: string): void {
    if (!name) throw new Error(`ONNX graph ${this.name}: empty value name`);
    if (this.defined.has(name)) throw new Error(`ONNX graph ${this.name}: ${name} is defined twice`);
    this.defined.add(name);
  }
}

function valueInfo(name: string, elemType: number, shape: readonly Dim[]): ValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** What {@link readModelSummary} returns: the parts of a model that tests and tools look at. */
export interface ModelSummary {
  readonly irVersion: number;
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly graphName: string;
  readonly opTypes: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
}

/** Decodes the header of a serialised ONNX model (written by this package or another). */
export function readModelSummary(bytes: Uint8Array): ModelSummary {
  const type = onnxType('ModelProto');
  const message = type.decode(bytes);
  const o = type.toObject(message, { longs: Number, defaults: true, arrays: true }) as {
    irVersion: number;
    opsetImport: { domain: string; version: number }[];
    producerName: string;
    producerVersion: string;
    graph?: { name: string; node: { opType: string }[] };
    metadataProps: { key: string; value: string }[];
  };
  const metadata: Record<string, string> = {};
  for (const p of o.metadataProps) metadata[p.key] = p.value;
  return {
    irVersion: o.irVersion,
    opsets: o.opsetImport.map((s) => ({ domain: s.domain, version: s.version })),
    producerName: o.producerName,
    producerVersion: o.producerVersion,
    graphName: o.graph?.name ?? '',
    opTypes: (o.graph?.node ?? []).map((n) => n.opType),
    metadata,
  };
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ServeBatchingConfig, ServeExecutionProvider } from '../config/serve';
import type { Logger } from '../log';
import { DynamicBatcher, RunTensor } from './batcher';
import { ORT_TYPE, TensorData, allocate } from './datatypes';
import type { ServeMetrics } from './metrics';
import type { ParsedInput, ParsedRequest } from './request';
import type { OutputTensor } from './response';
import { GraphSignature, readSignature } from './signature';
import type { ModelManifest, ModelRegistryClient, VersionRef } from '../registry/types';

/** What a model is loaded with. */
export interface ServedModelOptions {
  readonly name: string;
  readonly variant: string;
  readonly batching: ServeBatchingConfig;
  readonly intraOpThreads: number;
  /** @default { name: 'cpu' } */
  readonly executionProvider?: ExecutionProviderChoice;
  readonly metrics: ServeMetrics;
  readonly logger: Logger;
}

/** The execution provider a session is created with (the config's `executionProvider` and `cudaDeviceId`). */
export interface ExecutionProviderChoice {
  readonly name: ServeExecutionProvider;
  /** CUDA device ordinal (`cuda` only). @default 0 */
  readonly deviceId?: number;
}

/**
 * Options of the onnxruntime session: small models, many concurrent requests, no spinning
 * threads. The session gets exactly the one execution provider asked for: `cuda` is not
 * followed by `cpu` in the list, so a CUDA provider that cannot be loaded fails the session
 * instead of silently running the model on the CPU.
 */
export function sessionOptions(intraOpThreads: number, provider: ExecutionProviderChoice = { name: 'cpu' }): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: provider.name === 'cuda' ? [{ name: 'cuda', deviceId: provider.deviceId ?? 0 }] : ['cpu'],
  };
}

/** The shared library onnxruntime-node loads for its CUDA execution provider (installed by `ONNXRUNTIME_NODE_INSTALL=cuda12`). */
export const CUDA_PROVIDER_LIBRARY = 'libonnxruntime_providers_cuda.so';

/** The folder holding onnxruntime-node's native binding for this platform, where the CUDA provider's libraries must lie. */
export function onnxruntimeBindingDir(): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * Why a session on `provider` could not be created, with what to do about it: for `cuda`,
 * whether onnxruntime-node's CUDA provider is installed at all (its library beside the binding)
 * or is installed and failed to load or start (CUDA/cuDNN libraries, no visible GPU).
 */
export function sessionFailureMessage(model: string, version: number, provider: ExecutionProviderChoice, cause: string, bindingDir: string = onnxruntimeBindingDir()): string {
  const what = `model '${model}' version ${version}: cannot create an onnxruntime session`;
  if (provider.name !== 'cuda') return `${what}: ${cause}`;
  const device = provider.deviceId ?? 0;
  const library = path.join(bindingDir, CUDA_PROVIDER_LIBRARY);
  const installed = fs.existsSync(library);
  const fix = installed
    ? `onnxruntime-node's CUDA provider is installed (${library}) but did not load or start: it needs the CUDA 12 and cuDNN 9 runtime libraries on the library path and an NVIDIA GPU visible to the process (device ${device}; in Kubernetes a 'nvidia.com/gpu' limit on a GPU node)`
    : `onnxruntime-node was installed without its CUDA provider (no ${CUDA_PROVIDER_LIBRARY} in ${bindingDir}): install it with ONNXRUNTIME_NODE_INSTALL=cuda12 (npm ci), on a base with the CUDA 12 and cuDNN 9 runtime libraries, as the Dockerfile's GPU variant does (--build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 --build-arg RUNTIME_BASE_IMAGE=<CUDA 12 + cuDNN 9 + Node 22 image>)`;
  return `${what} on execution provider 'cuda' (device ${device}): ${cause}. ${fix}. The model is not served on the CPU instead (executionProvider 'cuda' has no fallback); set executionProvider 'cpu' to serve it there.`;
}

/**
 * One loaded, warmed version of a model: its onnxruntime session, graph signature, manifest
 * and (when the graph allows it and the config asks for it) its dynamic batcher.
 * Requests hold it with `acquire`/`release`; `retire` waits for them before releasing the
 * session, so a hot reload never fails a request in flight.
 */
export class ServedModel {
  /**
   * Loads one model version from the registry: resolves the version (number or alias), reads
   * the artefact (the registry verifies its sha256 against the manifest, throwing on mismatch
   * before anything reaches onnxruntime), creates the session, reads the signature and warms it.
   */
  public static async load(registry: ModelRegistryClient, ref: VersionRef, options: ServedModelOptions): Promise<ServedModel> {
    const start = process.hrtime.bigint();
    const { manifest, artefact } = await registry.load(options.name, ref);
    const provider = options.executionProvider ?? { name: 'cpu' };
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(artefact, sessionOptions(options.intraOpThreads, provider));
    } catch (e) {
      throw new Error(sessionFailureMessage(options.name, manifest.version, provider, (e as Error).message));
    }
    let model: ServedModel;
    try {
      const signature = readSignature(session);
      const declared = manifest.signature?.inputs?.map((i) => i.name) ?? [];
      const actual = signature.inputs.map((i) => i.name);
      if (declared.length && declared.join(',') !== actual.join(',')) {
        options.logger.warn({ model: options.name, version: manifest.version, declared, actual }, `the manifest of model '${options.name}' version ${manifest.version} lists inputs ${declared.join(', ')} but the ONNX graph takes ${actual.join(', ')}; serving the graph's`);
      }
      model = new ServedModel(options.name, manifest.version, options.variant, manifest, signature, session, options);
      await model.warm();
      model.loadedIn = Number(process.hrtime.bigint() - start) / 1e9;
      options.metrics.modelLoadSeconds.set(model.labels, model.loadedIn);
      options.metrics.executionProvider.set({ ...model.labels, provider: model.executionProvider }, 1);
    } catch (e) {
      await session.release();
      throw e;
    }
    return model;
  }

  public readonly labels: { readonly model: string; readonly version: string; readonly variant: string };
  /** The execution provider the session runs on. */
  public readonly executionProvider: ServeExecutionProvider;
  public readonly batcher: DynamicBatcher | undefined;
  private inflight = 0;
  private drained: (() => void) | undefined;
  private released = false;
  private loadedIn = 0;
  /** Metric series of this version, looked up once. */
  private readonly hot: { readonly inference: { observe(v: number): void }; readonly rows: { observe(v: number): void } };

  constructor(
    public readonly name: string,
    public readonly version: number,
    public readonly variant: string,
    public readonly manifest: ModelManifest,
    public readonly signature: GraphSignature,
    private readonly session: ort.InferenceSession,
    options: ServedModelOptions,
  ) {
    this.labels = { model: name, version: String(version), variant };
    this.executionProvider = options.executionProvider?.name ?? 'cpu';
    const { batching, logger, metrics } = options;
    this.hot = { inference: metrics.inferenceDuration.series(this.labels), rows: metrics.batchSize.series(this.labels) };
    if (batching.enabled && signature.batchable) {
      this.batcher = new DynamicBatcher(batching, (inputs, rows) => this.runOnce(inputs, rows), {
        onQueueDepth: (depth) => metrics.queueDepth.set(this.labels, depth),
        onDisabled: (reason) => logger.warn({ model: name, version }, `dynamic batching switched off for model '${name}' version ${version}: ${reason}`),
      });
      logger.info({ model: name, version, maxBatchSize: batching.maxBatchSize, maxQueueDelayMs: batching.maxQueueDelayMs }, `dynamic batching on for model '${name}' version ${version}`);
    } else if (batching.enabled) {
      logger.info({ model: name, version }, `dynamic batching off for model '${name}' version ${version}: ${signature.notBatchableReason}`);
    }
  }

  /** Seconds the load (fetch, verify, session, warm-up) took. */
  public get loadSeconds(): number {
    return this.loadedIn;
  }

  /** Marks a request in flight on this version. */
  public acquire(): void {
    this.inflight++;
  }

  /** Ends a request begun with `acquire`. */
  public release(): void {
    this.inflight--;
    if (this.inflight === 0 && this.drained) this.drained();
  }

  /** Requests in flight. */
  public get inFlight(): number {
    return this.inflight;
  }

  /** Runs a validated request (through the batcher when batching is on); returns the outputs asked for. */
  public async infer(request: ParsedRequest): Promise<OutputTensor[]> {
    const out = this.batcher
      ? await this.batcher.submit(request.inputs, request.rows)
      : await this.runOnce(request.inputs, request.rows, request.outputs);
    const names = request.outputs ?? this.signature.outputs.map((o) => o.name);
    return names.map((name) => {
      const t = out[name];
      if (!t) throw new Error(`model '${this.name}' version ${this.version} returned no output '${name}'`);
      const spec = this.signature.outputs.find((o) => o.name === name)!;
      return { name, datatype: spec.datatype, dims: Array.from(t.dims), data: t.data };
    });
  }

  /** One `session.run`, timed and counted (unless `record` is false: the warm-up is not a request). */
  private async runOnce(inputs: readonly ParsedInput[], rows: number, outputs?: readonly string[], record = true): Promise<Record<string, RunTensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const i of inputs) feeds[i.name] = new ort.Tensor(ORT_TYPE[i.datatype], i.data as ort.Tensor.DataType, i.dims);
    const start = process.hrtime.bigint();
    const result = outputs ? await this.session.run(feeds, outputs as string[]) : await this.session.run(feeds);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (record) {
      this.hot.inference.observe(seconds);
      this.hot.rows.observe(rows);
    }
    const out: Record<string, RunTensor> = {};
    for (const [name, value] of Object.entries(result)) {
      const t = value as ort.Tensor;
      out[name] = { dims: t.dims, data: t.data as TensorData };
    }
    return out;
  }

  /**
   * Runs the model once on zeros (dynamic axes as 1), so the first real request is not the slow
   * one. The warm-up run is not observed in the inference-duration and batch-size histograms:
   * they describe traffic, and the first run of a session is the slowest.
   */
  public async warm(): Promise<void> {
    const inputs: ParsedInput[] = this.signature.inputs.map((spec) => {
      const dims = spec.dims.map((d) => (typeof d === 'number' ? d : 1));
      const count = dims.reduce((a, b) => a * b, 1);
      return { name: spec.name, datatype: spec.datatype, dims, data: allocate(spec.datatype, count) };
    });
    await this.runOnce(inputs, 1, undefined, false);
  }

  /**
   * Stops this version: waits until no request holds it and its batch queue is empty, then
   * releases the onnxruntime session. Idempotent.
   */
  public async retire(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((resolve) => { this.drained = resolve; });
    await this.batcher?.idle();
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/** Loads one model version from the registry (see `ServedModel.load`). */
export function loadServedModel(registry: ModelRegistryClient, ref: VersionRef, options: ServedModelOptions): Promise<ServedModel> {
  return ServedModel.load(registry, ref, options);
}

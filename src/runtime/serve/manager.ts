import type { ServeModelConfig } from '../config/serve';
import { NotFoundError } from '../errors';
import type { Logger } from '../log';
import { HttpError } from './errors';
import type { ServeMetrics } from './metrics';
import { ServedModel } from './model';
import type { ModelRegistryClient } from '../registry/types';

interface Entry {
  config: ServeModelConfig;
  current: ServedModel | undefined;
  /** Serializes loads of this model (start, alias change, config change). */
  chain: Promise<void>;
  /** Last load failure, for the logs and the not-ready message. */
  lastError?: string;
  removed: boolean;
}

/** What the manager needs. */
export interface ModelManagerOptions {
  readonly registry: ModelRegistryClient;
  readonly models: readonly ServeModelConfig[];
  readonly metrics: ServeMetrics;
  readonly logger: Logger;
  /** Seconds between alias checks; 0 for none. */
  readonly aliasPollSeconds: number;
}

function sameServing(a: ServeModelConfig, b: ServeModelConfig): boolean {
  return a.variant === b.variant && a.intraOpThreads === b.intraOpThreads && JSON.stringify(a.batching) === JSON.stringify(b.batching)
    && a.executionProvider === b.executionProvider && a.cudaDeviceId === b.cudaDeviceId;
}

/**
 * The models a process serves, each as its current loaded version. Loads and warms versions,
 * follows alias targets and config changes, and swaps a new version in atomically: requests
 * already running finish on the version they started on, which is then released.
 */
export class ModelManager {
  private readonly entries = new Map<string, Entry>();
  private poller: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly options: ModelManagerOptions) {
    for (const config of options.models) {
      this.entries.set(config.name, { config, current: undefined, chain: Promise.resolve(), removed: false });
    }
  }

  /** Loads and warms every configured model; throws, naming each model that failed. */
  public async start(): Promise<void> {
    const failures: string[] = [];
    await Promise.all([...this.entries.values()].map(async (entry) => {
      await this.enqueue(entry, async () => {
        try {
          await this.load(entry, true);
        } catch (e) {
          failures.push(`model '${entry.config.name}' (ref ${JSON.stringify(entry.config.ref)}): ${(e as Error).message}`);
        }
      });
    }));
    if (failures.length) throw new Error(`cannot serve:\n  - ${failures.join('\n  - ')}`);
    this.started = true;
    if (this.options.aliasPollSeconds > 0) {
      this.poller = setInterval(() => void this.refreshAliases(), this.options.aliasPollSeconds * 1000);
      this.poller.unref();
    }
  }

  /** True once every configured model was loaded and warmed at start. */
  public get ready(): boolean {
    return this.started && !this.closed;
  }

  /** Names of the served models, sorted. */
  public names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** True when `name` is a configured model (loaded or not). */
  public has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Variant label of a configured model. */
  public variantOf(name: string): string | undefined {
    return this.entries.get(name)?.config.variant;
  }

  /** The current version of every model (for tests and status). */
  public current(name: string): ServedModel | undefined {
    return this.entries.get(name)?.current;
  }

  /**
   * The loaded version that answers `/v2/models/{name}[/versions/{version}]`. Throws 404 for an
   * unknown model or a version not served, 503 while the model is loading. The caller must
   * `acquire()` it in the same synchronous step.
   */
  public get(name: string, version?: string): ServedModel {
    const entry = this.entries.get(name);
    if (!entry) throw new NotFoundError(`model '${name}' is not served here; served models: ${this.names().map((n) => `'${n}'`).join(', ')}`);
    const model = entry.current;
    if (!model) {
      throw new HttpError(503, `model '${name}' is not ready (loading${entry.lastError ? '; the last load failed' : ''})`, 'not_ready', { 'retry-after': '1' });
    }
    if (version !== undefined && version !== String(model.version)) {
      throw new NotFoundError(`model '${name}' has no version ${JSON.stringify(version)} served here; this server serves version ${model.version}`);
    }
    return model;
  }

  /**
   * Checks every alias-pinned model and reloads those whose alias moved. Failures are logged and
   * counted; the version being served stays.
   */
  public async refreshAliases(): Promise<void> {
    await Promise.all([...this.entries.values()]
      .filter((e) => typeof e.config.ref === 'string')
      .map((e) => this.enqueue(e, () => this.reloadIfMoved(e))));
  }

  /**
   * Applies a new list of models (config hot reload): new models are loaded, removed ones are
   * retired after their requests finish, and models whose `ref` or serving settings changed are
   * reloaded and swapped in.
   */
  public async reconcile(models: readonly ServeModelConfig[]): Promise<void> {
    const wanted = new Map(models.map((m) => [m.name, m]));
    const work: Promise<void>[] = [];
    for (const [name, entry] of this.entries) {
      if (!wanted.has(name)) {
        entry.removed = true;
        this.entries.delete(name);
        work.push(this.enqueue(entry, async () => {
          const old = entry.current;
          entry.current = undefined;
          if (old) await this.retire(old);
          this.options.logger.info({ model: name }, `model '${name}' is no longer served (removed from the configuration)`);
        }));
      }
    }
    for (const [name, config] of wanted) {
      const entry = this.entries.get(name);
      if (!entry) {
        const added: Entry = { config, current: undefined, chain: Promise.resolve(), removed: false };
        this.entries.set(name, added);
        work.push(this.enqueue(added, () => this.load(added, false).catch(() => undefined)));
        continue;
      }
      const refChanged = JSON.stringify(entry.config.ref) !== JSON.stringify(config.ref);
      const settingsChanged = !sameServing(entry.config, config);
      if (!refChanged && !settingsChanged) continue;
      entry.config = config;
      work.push(this.enqueue(entry, () => (settingsChanged ? this.load(entry, false).catch(() => undefined) : this.reloadIfMoved(entry))));
    }
    await Promise.all(work);
  }

  /** Stops polling, waits for loads in progress, and retires every version (after its requests). */
  public async close(): Promise<void> {
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    const entries = [...this.entries.values()];
    await Promise.all(entries.map((e) => e.chain));
    await Promise.all(entries.map(async (e) => {
      const old = e.current;
      e.current = undefined;
      if (old) await this.retire(old);
    }));
  }

  private enqueue(entry: Entry, task: () => Promise<void>): Promise<void> {
    const next = entry.chain.then(task, task);
    entry.chain = next.catch(() => undefined);
    return next;
  }

  private async reloadIfMoved(entry: Entry): Promise<void> {
    if (this.closed || entry.removed) return;
    let version: number;
    try {
      version = await this.options.registry.resolve(entry.config.name, entry.config.ref);
    } catch (e) {
      entry.lastError = (e as Error).message;
      this.options.metrics.reloads.inc({ model: entry.config.name, outcome: 'failure' });
      this.options.logger.error({ model: entry.config.name, ref: entry.config.ref, err: e }, `cannot resolve ${JSON.stringify(entry.config.ref)} of model '${entry.config.name}'; still serving version ${entry.current?.version ?? 'none'}`);
      return;
    }
    if (entry.current && entry.current.version === version) return;
    await this.load(entry, false, version).catch(() => undefined);
  }

  /** Loads (ref or a resolved version), warms, then swaps in; the previous version retires. */
  private async load(entry: Entry, initial: boolean, version?: number): Promise<void> {
    const { config } = entry;
    const { logger, metrics, registry } = this.options;
    const ref = version ?? config.ref;
    try {
      const next = await ServedModel.load(registry, ref, {
        name: config.name,
        variant: config.variant,
        batching: config.batching,
        intraOpThreads: config.intraOpThreads,
        executionProvider: { name: config.executionProvider, deviceId: config.cudaDeviceId },
        metrics,
        logger,
      });
      if (this.closed || entry.removed) {
        await next.retire();
        return;
      }
      const previous = entry.current;
      entry.current = next;
      entry.lastError = undefined;
      metrics.modelReady.set(next.labels, 1);
      logger.info({ model: config.name, version: next.version, variant: config.variant, executionProvider: next.executionProvider, loadSeconds: next.loadSeconds, previous: previous?.version },
        previous ? `model '${config.name}' now serves version ${next.version} (was ${previous.version})` : `model '${config.name}' version ${next.version} loaded and warmed`);
      if (!initial) metrics.reloads.inc({ model: config.name, outcome: 'success' });
      if (previous) await this.retire(previous);
    } catch (e) {
      entry.lastError = (e as Error).message;
      if (!initial) metrics.reloads.inc({ model: config.name, outcome: 'failure' });
      logger.error({ model: config.name, ref, err: e }, `cannot load model '${config.name}' (${JSON.stringify(ref)}): ${(e as Error).message}${entry.current ? `; still serving version ${entry.current.version}` : ''}`);
      throw e;
    }
  }

  private async retire(model: ServedModel): Promise<void> {
    const { metrics, logger } = this.options;
    metrics.modelReady.remove(model.labels);
    await model.retire();
    metrics.queueDepth.remove(model.labels);
    metrics.modelLoadSeconds.remove(model.labels);
    metrics.executionProvider.remove({ ...model.labels, provider: model.executionProvider });
    logger.info({ model: model.name, version: model.version }, `model '${model.name}' version ${model.version} released`);
  }
}

import { TensorData, allocate } from './datatypes';
import type { ParsedInput } from './request';
import type { TensorDatatype } from '../registry/types';

/** A tensor as onnxruntime returns it (only what serving reads). */
export interface RunTensor {
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** Runs the model once on stacked inputs; returns every output by name. */
export type BatchRunner = (inputs: readonly ParsedInput[], rows: number) => Promise<Record<string, RunTensor>>;

/** Batching settings. */
export interface BatcherOptions {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  readonly maxConcurrentRuns: number;
}

/** Observers for metrics. */
export interface BatcherHooks {
  /** Requests waiting changed. */
  readonly onQueueDepth?: (depth: number) => void;
  /**
   * The model's outputs cannot be split by rows (axis 0 of an output is not the number of
   * stacked rows): batching is switched off for this model; requests are answered one by one.
   */
  readonly onDisabled?: (reason: string) => void;
}

interface Pending {
  readonly inputs: readonly ParsedInput[];
  readonly rows: number;
  /** Requests can share a run only when every axis but the batch axis agrees. */
  readonly key: string;
  readonly enqueuedAt: number;
  resolve(out: Record<string, RunTensor>): void;
  reject(err: unknown): void;
}

function shapeKey(inputs: readonly ParsedInput[]): string {
  return inputs.map((i) => i.dims.slice(1).join('x')).join('|');
}

/** Concatenates the k-th input of every request along axis 0. */
function concatInput(batch: readonly Pending[], k: number, rows: number): ParsedInput {
  const first = batch[0].inputs[k];
  const datatype: TensorDatatype = first.datatype;
  let total = 0;
  for (const p of batch) total += p.inputs[k].data.length;
  const data = allocate(datatype, total);
  if (Array.isArray(data)) {
    let o = 0;
    for (const p of batch) {
      const src = p.inputs[k].data as string[];
      for (let j = 0; j < src.length; j++) data[o++] = src[j];
    }
  } else {
    let o = 0;
    for (const p of batch) {
      const src = p.inputs[k].data as Exclude<TensorData, string[]>;
      (data as Float32Array).set(src as Float32Array, o);
      o += src.length;
    }
  }
  return { name: first.name, datatype, dims: [rows, ...first.dims.slice(1)], data };
}

/** Rows [start, end) of an output tensor whose axis 0 is the stacked rows. */
function sliceRows(t: RunTensor, totalRows: number, start: number, end: number): RunTensor {
  const perRow = t.data.length / totalRows;
  const data = Array.isArray(t.data)
    ? t.data.slice(start * perRow, end * perRow)
    : (t.data as Float32Array).subarray(start * perRow, end * perRow);
  return { dims: [end - start, ...t.dims.slice(1)], data };
}

/**
 * Dynamic batching for one loaded model: concurrent requests are queued, stacked along the
 * batch axis into one run (up to `maxBatchSize` rows; a larger single request runs alone),
 * and each caller gets back exactly its own rows of every output.
 *
 * A batch leaves the queue when it is full, or when its oldest request has waited
 * `maxQueueDelayMs` (0: at once), and at most `maxConcurrentRuns` batches run at once;
 * requests that arrive while runs are busy wait and leave together in the next batch.
 * A failed batch of several requests is retried request by request, so that one request the
 * model rejects cannot fail the others.
 */
export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private disabledReason: string | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly options: BatcherOptions,
    private readonly run: BatchRunner,
    private readonly hooks: BatcherHooks = {},
  ) {}

  /** Why batching was switched off at run time, if it was. */
  public get disabled(): string | undefined {
    return this.disabledReason;
  }

  /** Requests waiting to run. */
  public get depth(): number {
    return this.queue.length;
  }

  /** Queues one request; resolves with its own rows of every output. */
  public submit(inputs: readonly ParsedInput[], rows: number): Promise<Record<string, RunTensor>> {
    if (this.disabledReason) return this.run(inputs, rows);
    return new Promise((resolve, reject) => {
      this.queue.push({ inputs, rows, key: shapeKey(inputs), enqueuedAt: Date.now(), resolve, reject });
      this.queuedRows += rows;
      this.hooks.onQueueDepth?.(this.queue.length);
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running. */
  public idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.queue.length === 0 || this.running >= this.options.maxConcurrentRuns) return;
    const { maxBatchSize, maxQueueDelayMs } = this.options;
    if (maxQueueDelayMs === 0 || this.queuedRows >= maxBatchSize) {
      // No added delay: run now. Requests that arrive while this batch runs queue up and leave
      // together when it finishes, so batches grow with the load and an idle server adds no
      // latency at all.
      this.dispatch();
      return;
    }
    const waited = Date.now() - this.queue[0].enqueuedAt;
    if (waited >= maxQueueDelayMs) {
      this.dispatch();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.dispatch();
    }, maxQueueDelayMs - waited);
  }

  private dispatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0 && this.running < this.options.maxConcurrentRuns) {
      const batch = this.take();
      this.running++;
      void this.execute(batch).finally(() => {
        this.running--;
        if (this.queue.length > 0) this.schedule();
        else if (this.running === 0) this.notifyIdle();
      });
    }
  }

  private take(): Pending[] {
    const head = this.queue[0];
    const batch: Pending[] = [head];
    let rows = head.rows;
    const rest: Pending[] = [];
    let full = false;
    for (let i = 1; i < this.queue.length; i++) {
      const p = this.queue[i];
      if (!full && p.key === head.key && rows + p.rows <= this.options.maxBatchSize) {
        batch.push(p);
        rows += p.rows;
      } else {
        if (p.key === head.key) full = true;
        rest.push(p);
      }
    }
    this.queue.length = 0;
    this.queue.push(...rest);
    this.queuedRows -= rows;
    this.hooks.onQueueDepth?.(this.queue.length);
    return batch;
  }

  private async execute(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      const p = batch[0];
      try {
        p.resolve(await this.run(p.inputs, p.rows));
      } catch (e) {
        p.reject(e);
      }
      return;
    }
    let rows = 0;
    for (const p of batch) rows += p.rows;
    let out: Record<string, RunTensor>;
    try {
      const stacked = batch[0].inputs.map((_, k) => concatInput(batch, k, rows));
      out = await this.run(stacked, rows);
    } catch {
      await this.oneByOne(batch);
      return;
    }
    const wrong = Object.entries(out).find(([, t]) => t.dims[0] !== rows || t.data.length % rows !== 0);
    if (wrong) {
      this.disabledReason = `axis 0 of output '${wrong[0]}' is ${wrong[1].dims[0]} for ${rows} stacked rows, so results cannot be split by request`;
      this.hooks.onDisabled?.(this.disabledReason);
      await this.oneByOne(batch);
      return;
    }
    let start = 0;
    for (const p of batch) {
      const end = start + p.rows;
      const mine: Record<string, RunTensor> = {};
      for (const [name, t] of Object.entries(out)) mine[name] = sliceRows(t, rows, start, end);
      p.resolve(mine);
      start = end;
    }
  }

  private async oneByOne(batch: Pending[]): Promise<void> {
    for (const p of batch) {
      try {
        p.resolve(await this.run(p.inputs, p.rows));
      } catch (e) {
        p.reject(e);
      }
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

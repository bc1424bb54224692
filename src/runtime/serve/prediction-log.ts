import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log';
import { fromFloat16Bits } from './datatypes';
import type { ServeMetrics } from './metrics';
import type { ParsedInput } from './request';
import { OutputTensor, elementValue } from './response';
import type { ModelSignature, PredictionRecord } from '../registry/types';

/** Where prediction-log files go: a local directory or an S3 prefix. */
export interface PredictionSink {
  /** `file:///...` or `s3://bucket/prefix`. */
  readonly uri: string;
  /** Writes one whole file at `key` (relative, `/`-separated); nothing partial is ever visible. */
  write(key: string, body: Buffer): Promise<void>;
}

/** A local directory; files appear whole (written to a hidden temporary name, then renamed). */
export class LocalPredictionSink implements PredictionSink {
  public readonly uri: string;
  constructor(private readonly root: string) {
    this.uri = `file://${root}`;
  }

  public async write(key: string, body: Buffer): Promise<void> {
    const file = path.join(this.root, ...key.split('/'));
    const dir = path.dirname(file);
    await fs.promises.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
    await fs.promises.writeFile(tmp, body, { flag: 'wx' });
    await fs.promises.rename(tmp, file);
  }
}

/** The small part of the S3 client the sink uses (an `S3Client`). */
export interface S3Like {
  send(command: unknown): Promise<unknown>;
}

/** An S3 prefix; one PutObject per file (objects appear whole by S3's semantics). */
export class S3PredictionSink implements PredictionSink {
  public readonly uri: string;
  constructor(private readonly client: S3Like, private readonly bucket: string, private readonly prefix: string, private readonly putObject: (input: Record<string, unknown>) => unknown) {
    this.uri = `s3://${bucket}/${prefix}`;
  }

  public async write(key: string, body: Buffer): Promise<void> {
    const Key = this.prefix ? `${this.prefix.replace(/\/+$/, '')}/${key}` : key;
    await this.client.send(this.putObject({ Bucket: this.bucket, Key, Body: body, ContentType: 'application/x-ndjson' }));
  }
}

/** S3 client settings for the sink. */
export interface S3SinkOptions {
  readonly region?: string;
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Opens the sink for a prediction-log URI: a path, `file://` URI or `s3://bucket/prefix`. */
export function openPredictionSink(uri: string, s3?: S3SinkOptions): PredictionSink {
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (!bucket) throw new Error(`predictionLog.uri ${JSON.stringify(uri)} names no bucket; expected s3://bucket/prefix`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
    const client = new sdk.S3Client({
      region: s3?.region ?? process.env.AWS_REGION ?? 'us-east-1',
      endpoint: s3?.endpoint,
      forcePathStyle: s3?.forcePathStyle,
      credentials: s3?.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    return new S3PredictionSink(client, bucket, prefix, (input) => new sdk.PutObjectCommand(input as unknown as ConstructorParameters<typeof sdk.PutObjectCommand>[0]));
  }
  if (uri.startsWith('file://')) return new LocalPredictionSink(fileURLToPath(uri));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new Error(`predictionLog.uri ${JSON.stringify(uri)}: unsupported scheme; expected a directory, file:// or s3://`);
  return new LocalPredictionSink(path.resolve(uri));
}

/** One sampled request, kept as references until it is written (conversion happens off the request path). */
export interface PendingPrediction {
  readonly id: string;
  readonly model: string;
  readonly version: number;
  readonly variant: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly rows: number;
  readonly inputs: readonly ParsedInput[];
  readonly outputs: readonly OutputTensor[];
  /** The manifest's signature (feature names, task, classes), when known. */
  readonly signature?: ModelSignature;
}

function numeric(v: number | string | boolean | null): number | string | null {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

/**
 * Turns a sampled request into a {@link PredictionRecord}: one `inputs` object per row (the
 * signature's feature names when the model has one tabular input of that width; otherwise
 * `<input>` for one value per row and `<input>[j]` for several), and one prediction per row:
 * the label (an output with one value per row, integer or string preferred for
 * classification), else the class of highest probability, else null. For classification,
 * when an output holds one floating-point value per class of the signature, `scores` keeps
 * those probabilities per row (so the monitor can compute ROC AUC and log loss).
 */
export function toPredictionRecord(p: PendingPrediction): PredictionRecord {
  const rows = p.rows;
  const names = p.signature?.featureNames ?? [];
  const inputs: Record<string, number | string | boolean | null>[] = Array.from({ length: rows }, () => ({}));
  const tabular = p.inputs.length === 1 && names.length > 0 && p.inputs[0].data.length === rows * names.length;
  for (const input of p.inputs) {
    const per = input.data.length / rows;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < per; j++) {
        const key = tabular ? names[j] : per === 1 ? input.name : `${input.name}[${j}]`;
        inputs[r][key] = elementValue(input.datatype, input.data, r * per + j);
      }
    }
  }
  const outputs: (number | string | null)[] = new Array(rows).fill(null);
  const perRow = (o: OutputTensor) => o.data.length / rows;
  const single = p.outputs.filter((o) => perRow(o) === 1);
  const classification = p.signature?.task === 'classification';
  const classes = classification ? p.signature?.classes ?? [] : [];
  const probs = classes.length >= 2 ? p.outputs.find((o) => perRow(o) === classes.length && /^FP/.test(o.datatype)) : undefined;
  let scores: number[][] | undefined;
  if (probs) {
    const k = classes.length;
    scores = new Array(rows);
    for (let r = 0; r < rows; r++) {
      const row = new Array<number>(k);
      for (let j = 0; j < k; j++) {
        const raw = probs.data[r * k + j] as number;
        row[j] = probs.datatype === 'FP16' ? fromFloat16Bits(raw) : raw;
      }
      scores[r] = row;
    }
  }
  const label = (classification ? single.find((o) => o.datatype === 'BYTES' || /INT/.test(o.datatype)) : undefined) ?? single[0];
  if (label) {
    for (let r = 0; r < rows; r++) outputs[r] = numeric(elementValue(label.datatype, label.data, r));
  } else if (scores) {
    for (let r = 0; r < rows; r++) {
      const row = scores[r];
      let best = 0;
      for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
      outputs[r] = classes[best];
    }
  }
  const record: PredictionRecord = { id: p.id, model: p.model, version: p.version, variant: p.variant, ts: new Date(p.at).toISOString(), inputs, outputs };
  return scores ? { ...record, scores } : record;
}

/** Settings of the prediction logger. */
export interface PredictionLoggerOptions {
  readonly sampleRate: number;
  readonly maxQueue: number;
  /**
   * Most bytes (as estimated by {@link estimatePredictionBytes}) held in the queue.
   * @default 67108864 (64 MiB)
   */
  readonly maxQueueBytes?: number;
  readonly flushIntervalMs: number;
  readonly maxRecordsPerFile: number;
}

/** Default of {@link PredictionLoggerOptions.maxQueueBytes}: 64 MiB. */
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024;

/** Fixed cost of one queued record (ids, names, object headers), in bytes. */
const RECORD_OVERHEAD_BYTES = 256;

/**
 * Bytes a queued record holds in memory, estimated from its tensors: the typed arrays' byte
 * lengths, and for BYTES tensors two bytes per UTF-16 code unit plus a per-string overhead,
 * plus a fixed per-record overhead. It grows with the request's size, which is what the
 * byte budget has to bound.
 */
export function estimatePredictionBytes(p: Pick<PendingPrediction, 'inputs' | 'outputs'>): number {
  let bytes = RECORD_OVERHEAD_BYTES;
  for (const t of [...p.inputs, ...p.outputs]) {
    const data = t.data as unknown;
    if (ArrayBuffer.isView(data)) bytes += data.byteLength;
    else if (Array.isArray(data)) for (const v of data) bytes += 32 + 2 * String(v).length;
  }
  return bytes;
}

let sequence = 0;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `<model>/<yyyy>/<mm>/<dd>/<hh>/<unique>.jsonl` (UTC), as the PredictionRecord contract lays out. */
export function predictionKey(model: string, at: number): string {
  const d = new Date(at);
  const unique = `${d.toISOString().replace(/[-:.]/g, '')}-${process.pid}-${++sequence}-${randomBytes(4).toString('hex')}`;
  return `${model}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/${unique}.jsonl`;
}

/**
 * Sampled prediction logging, off the request path: `offer` only pushes references onto a
 * queue bounded in records (`maxQueue`) and in estimated bytes (`maxQueueBytes`), or counts a
 * drop when either bound is reached; a timer turns them into JSON lines and
 * writes one file per model and hour per flush. Every record is either written or counted in
 * `cdk_mlops_serve_prediction_log_dropped_total` (and logged), never lost silently.
 */
export class PredictionLogger {
  private queue: { readonly p: PendingPrediction; readonly bytes: number }[] = [];
  private queueBytes = 0;
  private readonly maxQueueBytes: number;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private flushSoon: NodeJS.Immediate | undefined;
  private droppedSinceLog = 0;
  private lastDropLog = 0;
  private closed = false;

  constructor(
    private readonly options: PredictionLoggerOptions,
    public readonly sink: PredictionSink,
    private readonly metrics: ServeMetrics,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.maxQueueBytes = options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  /** Whether this request is one of the sampled ones. */
  public sample(): boolean {
    const rate = this.options.sampleRate;
    return rate >= 1 || (rate > 0 && this.random() < rate);
  }

  /** Queues a sampled request; never blocks, never throws. */
  public offer(p: PendingPrediction): void {
    if (this.closed || this.queue.length >= this.options.maxQueue) {
      this.drop(1, this.closed ? 'closed' : 'queue_full');
      return;
    }
    const bytes = estimatePredictionBytes(p);
    if (this.queueBytes + bytes > this.maxQueueBytes) {
      this.drop(1, 'queue_bytes');
      return;
    }
    this.queue.push({ p, bytes });
    this.queueBytes += bytes;
    this.metrics.predictionLogQueue.set(this.queue.length);
    if (this.queue.length >= this.options.maxRecordsPerFile && !this.flushSoon) {
      this.flushSoon = setImmediate(() => {
        this.flushSoon = undefined;
        void this.flush();
      });
    }
  }

  /** Records waiting. */
  public get pending(): number {
    return this.queue.length;
  }

  /** Estimated bytes of the records waiting (see {@link estimatePredictionBytes}). */
  public get pendingBytes(): number {
    return this.queueBytes;
  }

  /** Writes everything queued so far; resolves when written (or counted as dropped). */
  public flush(): Promise<void> {
    this.writing = this.writing.then(() => this.writeQueued());
    return this.writing;
  }

  /** Stops the timer and writes what is left. */
  public async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.flushSoon) clearImmediate(this.flushSoon);
    await this.flush();
    this.closed = true;
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const taken = this.queue.splice(0, this.options.maxRecordsPerFile);
      for (const t of taken) this.queueBytes -= t.bytes;
      this.metrics.predictionLogQueue.set(this.queue.length);
      const groups = new Map<string, { model: string; at: number; lines: string[] }>();
      for (const { p } of taken) {
        let line: string;
        try {
          line = JSON.stringify(toPredictionRecord(p));
        } catch (e) {
          this.logger.error({ err: e, model: p.model, id: p.id }, 'prediction record could not be serialized; dropped');
          this.drop(1, 'serialize_error');
          continue;
        }
        const hour = Math.floor(p.at / 3_600_000);
        const group = `${p.model}\u0000${hour}`;
        let g = groups.get(group);
        if (!g) groups.set(group, g = { model: p.model, at: p.at, lines: [] });
        g.lines.push(line);
      }
      for (const g of groups.values()) {
        const key = predictionKey(g.model, g.at);
        try {
          await this.sink.write(key, Buffer.from(g.lines.join('\n') + '\n', 'utf8'));
          this.metrics.predictionLogWritten.inc({ model: g.model }, g.lines.length);
        } catch (e) {
          this.logger.error({ err: e, key, records: g.lines.length, sink: this.sink.uri }, `prediction log write to ${this.sink.uri} failed; ${g.lines.length} record(s) dropped`);
          this.drop(g.lines.length, 'write_error', true);
        }
      }
    }
  }

  private drop(n: number, reason: string, logged = false): void {
    this.metrics.predictionLogDropped.inc({ reason }, n);
    if (logged) return;
    this.droppedSinceLog += n;
    const now = Date.now();
    if (now - this.lastDropLog >= 10_000) {
      this.logger.warn({ dropped: this.droppedSinceLog, reason, maxQueue: this.options.maxQueue, maxQueueBytes: this.maxQueueBytes }, `prediction log dropped ${this.droppedSinceLog} record(s) (${reason}); the writer cannot keep up or has stopped`);
      this.droppedSinceLog = 0;
      this.lastDropLog = now;
    }
  }
}

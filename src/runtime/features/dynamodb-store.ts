import {
  AttributeValue, BatchGetItemCommand, BatchGetItemCommandOutput, BatchWriteItemCommand, BatchWriteItemCommandOutput, DynamoDBClient, GetItemCommand, KeysAndAttributes, WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDbOnlineStoreConfig } from '../config/features';
import { InputError } from '../errors';
import type { OnlineStore, OnlineWriteBatch, StoredValue } from './online-store';

/** Partition key attribute of the table (string): the online key. */
export const DYNAMODB_KEY_ATTRIBUTE = 'k';
/** Attribute holding the stored value (string). */
export const DYNAMODB_VALUE_ATTRIBUTE = 'v';
/** TTL attribute (number, epoch seconds) of rows written with a key expiry. */
export const DYNAMODB_TTL_ATTRIBUTE = 'exp';
/** Most keys of one BatchGetItem call (DynamoDB's limit). */
export const DYNAMODB_BATCH_GET_MAX = 100;
/** Most items of one BatchWriteItem call (DynamoDB's limit). */
export const DYNAMODB_BATCH_WRITE_MAX = 25;

/** Retry settings of {@link DynamoDbOnlineStore}. */
export interface DynamoDbRetryOptions {
  /** Calls per batch, the first included, before unprocessed keys or items fail the operation. @default 8 */
  readonly maxAttempts?: number;
  /** Backoff before the n-th retry: base x 2^(n-1), with full jitter, capped at 1 s. @default 25 */
  readonly baseDelayMs?: number;
  /** BatchWriteItem calls in flight at once while publishing. @default 8 */
  readonly writeConcurrency?: number;
}

const NAMES = { '#k': DYNAMODB_KEY_ATTRIBUTE, '#v': DYNAMODB_VALUE_ATTRIBUTE, '#e': DYNAMODB_TTL_ATTRIBUTE };

/**
 * The online store in a DynamoDB table: one item per key (partition key `k`, the value in `v`,
 * the expiry in `exp` when `keyTtlSeconds` is set), the same keys and values as Redis.
 *
 * - **Reads**: `BatchGetItem` (eventually consistent) of at most 100 distinct keys per call;
 *   the calls of one lookup are sent at once, so a lookup costs one round trip of latency.
 *   `UnprocessedKeys` (throttling) are retried with exponential backoff and jitter, at most
 *   `maxAttempts` calls, then the lookup fails. Items whose `exp` has passed read as absent
 *   (DynamoDB deletes expired items lazily, up to days later).
 * - **Writes**: `BatchWriteItem` of at most 25 items per call, `writeConcurrency` calls in
 *   flight; `UnprocessedItems` are retried the same way. Each item is a complete row (`PutItem`
 *   semantics), but DynamoDB cannot publish a batch atomically: a failed commit may leave some
 *   of its items written. Materialization is built for that: every item it writes is the
 *   complete latest row of its entity, and the watermarks are written only after every item
 *   succeeded, so a failed run leaves the watermarks unmoved; the next run reads the same rows
 *   and rewrites the same items, and re-running changes nothing.
 * - `get` (watermarks) is a strongly consistent `GetItem`; `ping` a `GetItem` of a key that does
 *   not exist (needs only `dynamodb:GetItem`).
 */
export class DynamoDbOnlineStore implements OnlineStore {
  /** A client for the config: region from the config or the environment, request timeout. */
  public static client(config: DynamoDbOnlineStoreConfig, env: NodeJS.ProcessEnv = process.env): DynamoDBClient {
    const region = config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new InputError('onlineStore.region', 'is not set and neither is AWS_REGION; expected an AWS region like \'eu-west-1\'');
    return new DynamoDBClient({
      region,
      endpoint: config.endpoint,
      maxAttempts: 3,
      requestHandler: { requestTimeout: config.requestTimeoutMs, connectionTimeout: config.requestTimeoutMs },
    });
  }

  /** Opens the table of `config` and checks that it answers (one GetItem). */
  public static async connect(config: DynamoDbOnlineStoreConfig, env: NodeJS.ProcessEnv = process.env): Promise<DynamoDbOnlineStore> {
    const store = new DynamoDbOnlineStore(DynamoDbOnlineStore.client(config, env), config.table);
    try {
      await store.ping();
    } catch (e) {
      store.client.destroy();
      throw new Error(`cannot reach the online store, DynamoDB table '${config.table}'${config.endpoint ? ` at ${config.endpoint}` : ''}: ${(e as Error).message}`);
    }
    return store;
  }

  public readonly kind = 'dynamodb';
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly writeConcurrency: number;

  constructor(public readonly client: DynamoDBClient, public readonly table: string, options: DynamoDbRetryOptions = {}, private readonly now: () => number = Date.now) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 25;
    this.writeConcurrency = options.writeConcurrency ?? 8;
  }

  public async readValues(keys: readonly string[]): Promise<(StoredValue | null)[]> {
    if (keys.length === 0) return [];
    // BatchGetItem refuses duplicate keys in one call: ask for each distinct key once.
    const distinct = [...new Set(keys)];
    const found = new Map<string, string>();
    const calls: Promise<void>[] = [];
    for (let i = 0; i < distinct.length; i += DYNAMODB_BATCH_GET_MAX) {
      calls.push(this.batchGet(distinct.slice(i, i + DYNAMODB_BATCH_GET_MAX), found));
    }
    await Promise.all(calls);
    return keys.map((k) => found.get(k) ?? null);
  }

  public async commit(batch: OnlineWriteBatch): Promise<void> {
    if (batch.writes.length === 0) return;
    // BatchWriteItem refuses two writes of one key in a call: the last write of a key wins.
    const latest = new Map<string, WriteRequest>();
    const nowSeconds = this.now() / 1000;
    for (const w of batch.writes) {
      const item: Record<string, AttributeValue> = { [DYNAMODB_KEY_ATTRIBUTE]: { S: w.key }, [DYNAMODB_VALUE_ATTRIBUTE]: { S: w.value } };
      if (w.ttlMs !== undefined) item[DYNAMODB_TTL_ATTRIBUTE] = { N: String(Math.ceil(nowSeconds + w.ttlMs / 1000)) };
      latest.delete(w.key);
      latest.set(w.key, { PutRequest: { Item: item } });
    }
    const requests = [...latest.values()];
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < requests.length; i += DYNAMODB_BATCH_WRITE_MAX) chunks.push(requests.slice(i, i + DYNAMODB_BATCH_WRITE_MAX));
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) await this.batchWrite(chunks[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(this.writeConcurrency, chunks.length) }, worker));
  }

  public async get(key: string): Promise<string | null> {
    const out = await this.client.send(new GetItemCommand({
      TableName: this.table,
      Key: { [DYNAMODB_KEY_ATTRIBUTE]: { S: key } },
      ConsistentRead: true,
      ProjectionExpression: '#k, #v, #e',
      ExpressionAttributeNames: NAMES,
    }));
    return out.Item ? this.live(out.Item) : null;
  }

  public async ping(): Promise<void> {
    await this.client.send(new GetItemCommand({ TableName: this.table, Key: { [DYNAMODB_KEY_ATTRIBUTE]: { S: '__ping__' } }, ProjectionExpression: '#k', ExpressionAttributeNames: { '#k': DYNAMODB_KEY_ATTRIBUTE } }));
  }

  public async close(): Promise<void> {
    this.client.destroy();
  }

  /** The value of an item, or null if it has expired. */
  private live(item: Record<string, AttributeValue>): string | null {
    const exp = item[DYNAMODB_TTL_ATTRIBUTE]?.N;
    if (exp !== undefined && Number(exp) * 1000 <= this.now()) return null;
    return item[DYNAMODB_VALUE_ATTRIBUTE]?.S ?? null;
  }

  private async batchGet(keys: string[], found: Map<string, string>): Promise<void> {
    let pending: KeysAndAttributes | undefined = {
      Keys: keys.map((k) => ({ [DYNAMODB_KEY_ATTRIBUTE]: { S: k } })),
      ProjectionExpression: '#k, #v, #e',
      ExpressionAttributeNames: NAMES,
    };
    for (let attempt = 1; pending?.Keys?.length; attempt++) {
      if (attempt > this.maxAttempts) {
        throw new Error(`DynamoDB left ${pending.Keys.length} key(s) of table '${this.table}' unprocessed after ${this.maxAttempts} attempts (throttled); retry later`);
      }
      if (attempt > 1) await this.backoff(attempt - 1);
      const out: BatchGetItemCommandOutput = await this.client.send(new BatchGetItemCommand({ RequestItems: { [this.table]: pending } }));
      for (const item of out.Responses?.[this.table] ?? []) {
        const value = this.live(item);
        const key = item[DYNAMODB_KEY_ATTRIBUTE]?.S;
        if (key !== undefined && value !== null) found.set(key, value);
      }
      pending = out.UnprocessedKeys?.[this.table];
    }
  }

  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    let pending: WriteRequest[] | undefined = requests;
    for (let attempt = 1; pending?.length; attempt++) {
      if (attempt > this.maxAttempts) {
        throw new Error(`DynamoDB left ${pending.length} item(s) of table '${this.table}' unprocessed after ${this.maxAttempts} attempts (throttled)`);
      }
      if (attempt > 1) await this.backoff(attempt - 1);
      const out: BatchWriteItemCommandOutput = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: pending } }));
      pending = out.UnprocessedItems?.[this.table];
    }
  }

  private backoff(retry: number): Promise<void> {
    const cap = Math.min(1000, this.baseDelayMs * 2 ** (retry - 1));
    return new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
  }
}

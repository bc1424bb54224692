import Redis, { RedisOptions } from 'ioredis';
import { compareStrings } from '../../util/compare';
import { OnlineStoreConfig, RedisOnlineStoreConfig } from '../config/features';
import { InputError } from '../errors';

/**
 * The online store's key layout (Redis, DynamoDB and the in-process store alike):
 *
 * - `<keyPrefix><project>:<view>:<key>`: ONE value per (view, entity key), the entity's row
 *   (see rows.ts: `["<schema>", <event ts>, <created ts>, values...]`). `<key>` is the view's
 *   join-key values in entity order, canonical (integers in decimal, strings as given),
 *   URI-escaped and joined by `:`, e.g. `cdk-mlops:features:fraud:driver_stats:1001` or
 *   `...:trips:42:Berlin`. With `onlineStore.keyTtlSeconds`, a row expires that many seconds
 *   after the write that last changed it (Redis `SET ... PX`; DynamoDB's TTL attribute `exp`,
 *   which readers also check, since DynamoDB deletes expired items lazily).
 * - `<keyPrefix><project>:__schema__:<view>:<fingerprint>`: a value schema rows name (JSON).
 * - `<keyPrefix><project>:__watermark__:<view>`: the view's materialization watermark (JSON).
 *
 * A lookup of N entities from V views reads N x V keys with ONE command (Redis `MGET`;
 * DynamoDB `BatchGetItem`s of at most 100 keys, sent concurrently): one round trip.
 */
export class OnlineKeyspace {
  constructor(public readonly keyPrefix: string, public readonly project: string) {}

  /** Key of one entity's row in one view. */
  public row(view: string, entityKey: string): string {
    return `${this.keyPrefix}${this.project}:${view}:${entityKey}`;
  }

  /** Key of a view's stored value schema. */
  public schema(view: string, fingerprint: string): string {
    return `${this.keyPrefix}${this.project}:__schema__:${view}:${fingerprint}`;
  }

  /** Key of a view's watermark. */
  public watermark(view: string): string {
    return `${this.keyPrefix}${this.project}:__watermark__:${view}`;
  }

  /** Glob matching every key of this project. */
  public pattern(): string {
    return `${this.keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}${this.project}:*`;
  }
}

/** A value as a store hands it back: a string, or the raw bytes (Redis). */
export type StoredValue = string | Buffer;

/** One key to write. */
export interface OnlineWrite {
  readonly key: string;
  readonly value: string;
  /** Expire the key this many milliseconds after the write. @default - never */
  readonly ttlMs?: number;
}

/** What one commit publishes. */
export interface OnlineWriteBatch {
  readonly writes: readonly OnlineWrite[];
}

/** Where online features live. Implementations: Redis, DynamoDB, in-process memory. */
export interface OnlineStore {
  /** `redis`, `dynamodb` or `memory`. */
  readonly kind: string;
  /**
   * The values of `keys`, in order (null where absent or expired), in ONE round trip. Values
   * come back as strings or, from Redis, as raw bytes (cheaper to receive than strings).
   */
  readValues(keys: readonly string[]): Promise<(StoredValue | null)[]>;
  /**
   * Publishes a batch. Redis and memory: atomically (MULTI/EXEC), every write or none.
   * DynamoDB: item by item (each item is written whole; a failure may leave some written).
   */
  commit(batch: OnlineWriteBatch): Promise<void>;
  /** Reads one string key (strongly consistent where the store offers a choice). */
  get(key: string): Promise<string | null>;
  /** Resolves if the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Redis (or ElastiCache for Redis, non-cluster mode) through ioredis. */
export class RedisOnlineStore implements OnlineStore {
  /** Options for ioredis from the config, credentials read from the environment it names. */
  public static options(config: RedisOnlineStoreConfig, env: NodeJS.ProcessEnv = process.env): RedisOptions {
    const secret = (name: string | undefined, what: string) => {
      if (name === undefined) return undefined;
      const value = env[name];
      if (value === undefined || value === '') {
        throw new InputError(`onlineStore.${what}`, `environment variable ${name} is not set`);
      }
      return value;
    };
    return {
      username: secret(config.usernameEnv, 'usernameEnv'),
      password: secret(config.passwordEnv, 'passwordEnv'),
      tls: config.tls || config.url.startsWith('rediss://') ? {} : undefined,
      connectTimeout: config.connectTimeoutMs,
      commandTimeout: config.commandTimeoutMs,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      enableAutoPipelining: false,
    };
  }

  /** Connects; fails with the URL (never the credentials) if Redis cannot be reached. */
  public static async connect(config: RedisOnlineStoreConfig, env: NodeJS.ProcessEnv = process.env): Promise<RedisOnlineStore> {
    // No retries until the first connection succeeds (a bad address fails at start, at once);
    // after that, reconnect with a capped backoff.
    let connected = false;
    const redis = new Redis(config.url, {
      ...RedisOnlineStore.options(config, env),
      retryStrategy: (times) => (connected ? Math.min(times * 100, 2000) : null),
    });
    redis.on('error', () => { /* surfaced through the failing command */ });
    try {
      await redis.connect();
      connected = true;
    } catch (e) {
      redis.disconnect();
      throw new Error(`cannot connect to the online store at ${redactUrl(config.url)}: ${(e as Error).message}`);
    }
    return new RedisOnlineStore(redis);
  }

  public readonly kind = 'redis';

  constructor(public readonly redis: Redis) {}

  public async readValues(keys: readonly string[]): Promise<(StoredValue | null)[]> {
    if (keys.length === 0) return [];
    // One MGET: one command, one reply of bulk strings (a key holding another type reads null).
    return this.redis.mgetBuffer(...keys);
  }

  public async commit(batch: OnlineWriteBatch): Promise<void> {
    if (batch.writes.length === 0) return;
    const multi = this.redis.multi();
    for (const w of batch.writes) {
      if (w.ttlMs === undefined) multi.set(w.key, w.value);
      else multi.set(w.key, w.value, 'PX', w.ttlMs);
    }
    const results = await multi.exec();
    if (!results) throw new Error('online store transaction was aborted; nothing was published');
    for (const [err] of results) if (err) throw err;
  }

  public async get(key: string): Promise<string | null> {
    return this.redis.get(key);
  }

  public async ping(): Promise<void> {
    await this.redis.ping();
  }

  public async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

/**
 * In-process store with the same layout and semantics as Redis (expiry included): for one
 * machine and for tests. It lives inside the process that serves from it, so `serve`
 * materializes into it at start.
 */
export class MemoryOnlineStore implements OnlineStore {
  public readonly kind = 'memory';
  private readonly values = new Map<string, { value: string; expiresAt: number }>();

  /** @param now clock for key expiry (epoch ms) */
  constructor(private readonly now: () => number = Date.now) {}

  public async readValues(keys: readonly string[]): Promise<(StoredValue | null)[]> {
    return keys.map((k) => this.read(k));
  }

  public async commit(batch: OnlineWriteBatch): Promise<void> {
    const now = this.now();
    for (const w of batch.writes) this.values.set(w.key, { value: w.value, expiresAt: w.ttlMs === undefined ? Infinity : now + w.ttlMs });
  }

  public async get(key: string): Promise<string | null> {
    return this.read(key);
  }

  public async ping(): Promise<void> {}

  public async close(): Promise<void> {}

  /** Every live key and its value, sorted by key: for tests and debugging. */
  public dump(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of [...this.values.keys()].sort(compareStrings)) {
      const v = this.read(k);
      if (v !== null) out[k] = v;
    }
    return out;
  }

  private read(key: string): string | null {
    const entry = this.values.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      this.values.delete(key);
      return null;
    }
    return entry.value;
  }
}

/** Hides the password of a redis URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** Opens the configured store (the AWS SDK is loaded only for DynamoDB). */
export async function openOnlineStore(config: OnlineStoreConfig, env: NodeJS.ProcessEnv = process.env): Promise<OnlineStore> {
  switch (config.type) {
    case 'redis':
      return RedisOnlineStore.connect(config, env);
    case 'memory':
      return new MemoryOnlineStore();
    case 'dynamodb': {
      const { DynamoDbOnlineStore } = await import('./dynamodb-store');
      return DynamoDbOnlineStore.connect(config, env);
    }
  }
}

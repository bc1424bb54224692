import Redis, { RedisOptions } from 'ioredis';
import { OnlineStoreConfig, RedisOnlineStoreConfig } from '../config/features';
import { InputError } from '../errors';
import type { StoredValue } from './values';

/**
 * The online store's key layout (Redis, and the in-process store, which mirrors it):
 *
 * - `<keyPrefix><project>:<view>:<key>`: one hash per (view, entity key). `<key>` is the
 *   view's join-key values in entity order, canonical (integers in decimal, strings as given),
 *   URI-escaped and joined by `:`, e.g. `cdk-mlops:features:fraud:driver_stats:1001` or
 *   `...:trips:42:Berlin`. Fields: `__ts` (event time, epoch ms), `__cts` (created time,
 *   epoch ms, when the view has a created-timestamp column) and one field per feature holding
 *   its type-tagged value (see values.ts).
 * - `<keyPrefix><project>:__watermark__:<view>`: the view's materialization watermark (JSON).
 *
 * A lookup of N entities from V views is N x V `HMGET`s sent as one pipeline: one round trip.
 */
export class OnlineKeyspace {
  constructor(public readonly keyPrefix: string, public readonly project: string) {}

  /** Key of one entity's hash in one view. */
  public row(view: string, entityKey: string): string {
    return `${this.keyPrefix}${this.project}:${view}:${entityKey}`;
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

/** Hash field holding the event timestamp (epoch ms). */
export const EVENT_TS_FIELD = '__ts';
/** Hash field holding the created timestamp (epoch ms). */
export const CREATED_TS_FIELD = '__cts';

/** One hash to read: which fields. */
export interface HashRead {
  readonly key: string;
  readonly fields: readonly string[];
}

/** Everything one materialization run publishes. */
export interface OnlineWriteBatch {
  readonly hashes: readonly { readonly key: string; readonly fields: Readonly<Record<string, string>> }[];
  readonly strings: readonly { readonly key: string; readonly value: string }[];
}

/** Where online features live. Implementations: Redis, in-process memory. */
export interface OnlineStore {
  /** `redis` or `memory`. */
  readonly kind: string;
  /**
   * For each read, the values of its fields (null where absent), in ONE round trip. Values
   * come back as strings or, from Redis, as raw bytes (cheaper to receive than strings).
   */
  readHashes(reads: readonly HashRead[]): Promise<(StoredValue | null)[][]>;
  /** Publishes a whole batch atomically: every write or none (Redis MULTI/EXEC). */
  commit(batch: OnlineWriteBatch): Promise<void>;
  /** Reads one string key. */
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

  public async readHashes(reads: readonly HashRead[]): Promise<(StoredValue | null)[][]> {
    if (reads.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const r of reads) pipeline.hmgetBuffer(r.key, ...r.fields);
    const results = (await pipeline.exec())!;
    return results.map(([err, value]) => {
      if (err) throw err;
      return value as (Buffer | null)[];
    });
  }

  public async commit(batch: OnlineWriteBatch): Promise<void> {
    if (batch.hashes.length === 0 && batch.strings.length === 0) return;
    const multi = this.redis.multi();
    for (const h of batch.hashes) multi.hset(h.key, h.fields);
    for (const s of batch.strings) multi.set(s.key, s.value);
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
 * In-process store with the same layout and semantics as Redis: for one machine and for
 * tests. It lives inside the process that serves from it, so `serve` materializes into it at
 * start.
 */
export class MemoryOnlineStore implements OnlineStore {
  public readonly kind = 'memory';
  private readonly hashes = new Map<string, Map<string, string>>();
  private readonly strings = new Map<string, string>();

  public async readHashes(reads: readonly HashRead[]): Promise<(StoredValue | null)[][]> {
    return reads.map((r) => {
      const h = this.hashes.get(r.key);
      return r.fields.map((f) => h?.get(f) ?? null);
    });
  }

  public async commit(batch: OnlineWriteBatch): Promise<void> {
    for (const h of batch.hashes) {
      let target = this.hashes.get(h.key);
      if (!target) this.hashes.set(h.key, (target = new Map()));
      for (const [f, v] of Object.entries(h.fields)) target.set(f, v);
    }
    for (const s of batch.strings) this.strings.set(s.key, s.value);
  }

  public async get(key: string): Promise<string | null> {
    return this.strings.get(key) ?? null;
  }

  public async ping(): Promise<void> {}

  public async close(): Promise<void> {}

  /** Every key and its contents, sorted: for tests and debugging. */
  public dump(): Record<string, Record<string, string> | string> {
    const out: Record<string, Record<string, string> | string> = {};
    const keys = [...this.hashes.keys(), ...this.strings.keys()].sort();
    for (const k of keys) {
      const h = this.hashes.get(k);
      out[k] = h ? Object.fromEntries([...h.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : this.strings.get(k)!;
    }
    return out;
  }
}

/** Hides the password of a redis URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** Opens the configured store. DynamoDB is synthesized by the constructs but not read by this runtime yet. */
export async function openOnlineStore(config: OnlineStoreConfig, env: NodeJS.ProcessEnv = process.env): Promise<OnlineStore> {
  switch (config.type) {
    case 'redis':
      return RedisOnlineStore.connect(config, env);
    case 'memory':
      return new MemoryOnlineStore();
    case 'dynamodb':
      throw new InputError('onlineStore.type', "'dynamodb' is not supported by this runtime; use 'redis' (ElastiCache) or 'memory'");
  }
}

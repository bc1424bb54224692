import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { Logger } from '../log';

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Parses a tokens file: one token per line; blank lines and `#` comments ignored; surrounding spaces trimmed. */
export function parseTokens(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
}

/**
 * The accepted bearer tokens, read from a file (a mounted Kubernetes Secret) and re-read when
 * it changes. Only sha256 digests are kept; a presented token is hashed and compared with every
 * digest using `crypto.timingSafeEqual`, with no early exit, so the time taken reveals neither
 * which token nor how much of it matched.
 *
 * A file that cannot be read or holds no token is an error at start; a later unreadable or
 * empty version is logged and the previous tokens stay in force (a Secret being rotated is
 * briefly replaced by a symlink swap).
 */
export class TokenStore {
  private digests: Buffer[] = [];
  private watching = false;
  private readonly onChange: () => void;

  constructor(private readonly file: string, private readonly logger: Logger, private readonly intervalMs: number) {
    this.digests = this.read(true);
    this.onChange = () => this.reload();
  }

  /** Number of tokens in force. */
  public get size(): number {
    return this.digests.length;
  }

  /** Starts watching the file for changes. */
  public watch(): void {
    if (this.watching) return;
    this.watching = true;
    fs.watchFile(this.file, { interval: this.intervalMs, persistent: false }, this.onChange);
  }

  /** Re-reads the file now (also called on change). */
  public reload(): void {
    try {
      const next = this.read(false);
      this.digests = next;
      this.logger.info({ file: this.file, tokens: next.length }, `auth tokens reloaded from ${this.file}: ${next.length} token(s)`);
    } catch (e) {
      this.logger.error({ file: this.file, err: e }, `auth tokens not reloaded: ${(e as Error).message}; keeping the previous ${this.digests.length} token(s)`);
    }
  }

  /** True when `token` is one of the accepted tokens (constant-time with respect to the tokens). */
  public verify(token: string): boolean {
    const presented = digest(token);
    let ok = false;
    for (const d of this.digests) {
      if (timingSafeEqual(presented, d)) ok = true;
    }
    return ok;
  }

  /** Stops watching the file. */
  public close(): void {
    if (this.watching) fs.unwatchFile(this.file, this.onChange);
    this.watching = false;
  }

  private read(initial: boolean): Buffer[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      throw new Error(`auth.tokensFile ${this.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const tokens = parseTokens(text);
    if (tokens.length === 0) {
      throw new Error(`auth.tokensFile ${this.file} holds no token${initial ? '' : ' now'} (expected one token per line)`);
    }
    const short = tokens.find((t) => t.length < 16);
    if (short !== undefined) {
      throw new Error(`auth.tokensFile ${this.file} holds a token of ${short.length} characters; tokens must have at least 16`);
    }
    return tokens.map(digest);
  }
}

/** Token-bucket settings. */
export interface RateLimitOptions {
  readonly requestsPerSecond: number;
  readonly burst: number;
  readonly maxClients: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Per-client token buckets: each client may send `burst` requests at once and
 * `requestsPerSecond` sustained. Clients are tracked in insertion-refreshed order and the least
 * recently seen are forgotten beyond `maxClients`, so memory stays bounded whatever the
 * traffic.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: RateLimitOptions, private readonly now: () => number = () => performance.now()) {}

  /** Takes one request from `client`'s bucket; returns 0 when allowed, else the seconds to wait. */
  public take(client: string): number {
    const { requestsPerSecond, burst, maxClients } = this.options;
    const t = this.now();
    let b = this.buckets.get(client);
    if (b) {
      this.buckets.delete(client);
      b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * requestsPerSecond);
      b.at = t;
    } else {
      b = { tokens: burst, at: t };
      if (this.buckets.size >= maxClients) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    }
    this.buckets.set(client, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / requestsPerSecond;
  }

  /** Clients currently tracked. */
  public get clients(): number {
    return this.buckets.size;
  }
}

/** The rate-limit key of a request: a digest of its bearer token when it has one, else its address. */
export function clientKey(authorization: string | undefined, address: string): string {
  const token = bearerToken(authorization);
  return token ? `t:${digest(token).toString('base64')}` : `a:${address}`;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
  return m ? m[1] : undefined;
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestApp, buildTestApp, memoryLogger, standardRegistry, tabularReference, tempDir, testConfig } from './support/fixtures';
import type { Registry } from '../../../src/runtime/registry/registry';
import { RateLimiter, TokenStore, bearerToken, clientKey, parseTokens } from '../../../src/runtime/serve/auth';

const A = 'token-a-0123456789abcdef';
const B = 'token-b-0123456789abcdef';
const body = { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: tabularReference().rows[0] }] };

function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`condition not met within ${timeoutMs} ms`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('serve: tokens file', () => {
  test('one token per line; blank lines and # comments ignored; spaces trimmed', () => {
    expect(parseTokens(`# clients\n  ${A}  \n\r\n${B}\r\n#${A}\n`)).toEqual([A, B]);
  });

  test('a missing, empty or weak tokens file stops the start with a message naming it', () => {
    const dir = tempDir('tokens');
    const { logger } = memoryLogger();
    expect(() => new TokenStore(path.join(dir, 'absent'), logger, 1000)).toThrow(`auth.tokensFile ${path.join(dir, 'absent')} cannot be read (ENOENT)`);
    fs.writeFileSync(path.join(dir, 'empty'), '# nothing\n\n');
    expect(() => new TokenStore(path.join(dir, 'empty'), logger, 1000)).toThrow('holds no token (expected one token per line)');
    fs.writeFileSync(path.join(dir, 'weak'), 'short\n');
    expect(() => new TokenStore(path.join(dir, 'weak'), logger, 1000)).toThrow('holds a token of 5 characters; tokens must have at least 16');
  });

  test('Authorization header parsing and rate-limit keys', () => {
    expect(bearerToken(`Bearer ${A}`)).toBe(A);
    expect(bearerToken(`bearer ${A}`)).toBe(A);
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(`Bearer ${A} x`)).toBeUndefined();
    expect(clientKey(`Bearer ${A}`, '1.2.3.4')).not.toContain(A);
    expect(clientKey(`Bearer ${A}`, '1.2.3.4')).toBe(clientKey(`Bearer ${A}`, '5.6.7.8'));
    expect(clientKey(undefined, '1.2.3.4')).toBe('a:1.2.3.4');
  });
});

describe('serve: bearer-token auth over the app', () => {
  let registry: Registry;
  let t: TestApp;
  let file: string;
  let store: TokenStore;

  beforeAll(async () => {
    ({ registry } = await standardRegistry());
    file = path.join(tempDir('tokens'), 'tokens');
    fs.writeFileSync(file, `${A}\n`);
    const { logger } = memoryLogger();
    store = new TokenStore(file, logger, 20);
    store.watch();
    t = await buildTestApp(testConfig(registry.uri, { auth: { tokensFile: file } }), registry, { tokens: store });
  });
  afterAll(async () => {
    store.close();
    await t.close();
  });

  const infer = (token?: string) => t.app.inject({
    method: 'POST',
    url: '/v2/models/tabular/infer',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    payload: body,
  });

  test('inference and model metadata need a valid token; health, server metadata, model readiness and /metrics do not', async () => {
    expect((await infer(A)).statusCode).toBe(200);
    expect((await infer()).statusCode).toBe(401);
    expect((await infer(B)).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/v2/models/tabular' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/v2/models/tabular', headers: { authorization: `Bearer ${A}` } })).statusCode).toBe(200);
    for (const url of ['/v2/health/live', '/v2/health/ready', '/v2', '/metrics', '/v2/models/tabular/ready']) {
      expect({ url, status: (await t.app.inject({ method: 'GET', url })).statusCode }).toEqual({ url, status: 200 });
    }
  });

  test('the tokens file is re-read when it changes: a rotated token works, the removed one stops working', async () => {
    fs.writeFileSync(file, `# rotated\n${B}\n`);
    fs.utimesSync(file, new Date(), new Date(Date.now() + 2000));
    await waitFor(() => store.verify(B), 5000);
    expect((await infer(B)).statusCode).toBe(200);
    expect((await infer(A)).statusCode).toBe(401);
    // An emptied file is refused: the tokens in force stay.
    fs.writeFileSync(file, '\n');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 4000));
    await new Promise((r) => setTimeout(r, 200));
    expect((await infer(B)).statusCode).toBe(200);
  });
});

describe('serve: per-client rate limit', () => {
  test('token bucket: burst, then the sustained rate; forgotten clients bounded', () => {
    let now = 0;
    const limiter = new RateLimiter({ requestsPerSecond: 10, burst: 3, maxClients: 2 }, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBeCloseTo(0.1, 5);
    now += 100;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('b')).toBe(0);
    expect(limiter.take('c')).toBe(0);
    expect(limiter.clients).toBe(2);
  });

  test('over HTTP: 429 with Retry-After once a client exceeds its bucket; other clients are not affected', async () => {
    const { registry } = await standardRegistry();
    const file = path.join(tempDir('tokens'), 'tokens');
    fs.writeFileSync(file, `${A}\n${B}\n`);
    const { logger } = memoryLogger();
    const store = new TokenStore(file, logger, 1000);
    const t = await buildTestApp(testConfig(registry.uri, { auth: { tokensFile: file }, limits: { rateLimit: { requestsPerSecond: 0.1, burst: 3 } } }), registry, { tokens: store });
    try {
      const infer = (token: string) => t.app.inject({ method: 'POST', url: '/v2/models/tabular/infer', headers: { 'content-type': 'application/json', 'authorization': `Bearer ${token}` }, payload: body });
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await infer(A)).statusCode);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const limited = await infer(A);
      // A token comes back every 10 s: the client is told to wait (nearly) that long.
      const wait = Number(limited.headers['retry-after']);
      expect(wait).toBeGreaterThanOrEqual(8);
      expect(wait).toBeLessThanOrEqual(10);
      expect(limited.json()).toEqual({ error: `rate limit exceeded: at most 0.1 requests per second per client; retry in ${wait} s` });
      expect((await infer(B)).statusCode).toBe(200);
      const errors = (await t.metrics.errors.get()).values.find((v) => v.labels.reason === 'rate_limited');
      expect(errors?.value).toBe(3);
    } finally {
      await t.close();
    }
  });
});

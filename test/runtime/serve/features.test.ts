import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { memoryLogger, standardRegistry, tabularReference, testConfig } from './support/fixtures';
import { postJson } from './support/http';
import { FeatureCatalog, MemoryOnlineStore, RunningFeatureServer, startFeatureServer } from '../../../src/runtime/features';
import type { OnlineFeatureService } from '../../../src/runtime/features/online';
import type { Registry } from '../../../src/runtime/registry/registry';
import type { OnlineFeatureSource } from '../../../src/runtime/serve/features';
import { ServeServer, startServer } from '../../../src/runtime/serve/server';
import { fixtureRegistry } from '../features/helpers';

// The features runtime's in-process lookup is a valid source as is (checked by the compiler).
const sourceCheck: OnlineFeatureService extends OnlineFeatureSource ? true : never = true;
void sourceCheck;

const ref = tabularReference();
const LABELS = ref.models['tabular-mlp.onnx'].labels;

/**
 * A feature server on 127.0.0.1 answering `POST /get-online-features` in Feast's shapes, with
 * customers 0..19 holding the reference rows, its features in reverse order of the model's
 * (so that the server must reorder), customer 50 with one value past its TTL, every other id
 * unknown.
 */
class FakeFeatureServer {
  public readonly requests: { feature_service: string; entities: Record<string, unknown[]> }[] = [];
  public delayMs = 0;
  private server?: http.Server;
  public readonly featureOrder = [...ref.featureNames].reverse();

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        const parsed = JSON.parse(body) as { feature_service: string; entities: Record<string, unknown[]> };
        this.requests.push(parsed);
        const answer = () => {
          if (parsed.feature_service !== 'cancer_features') {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: `feature service '${parsed.feature_service}' does not exist` }));
            return;
          }
          const ids = parsed.entities.customer_id as number[];
          const results = [
            { values: ids, statuses: ids.map(() => 'PRESENT'), event_timestamps: ids.map(() => '1970-01-01T00:00:00Z') },
            ...this.featureOrder.map((f) => {
              const j = ref.featureNames.indexOf(f);
              const statuses = ids.map((id) => (id >= 0 && id < 20 ? 'PRESENT' : id === 50 && j === 3 ? 'OUTSIDE_MAX_AGE' : id === 50 ? 'PRESENT' : 'NOT_FOUND'));
              return {
                values: ids.map((id, r) => (statuses[r] === 'PRESENT' ? (id === 50 ? ref.rows[0][j] : ref.rows[id][j]) : null)),
                statuses,
                event_timestamps: ids.map(() => '2024-01-01T00:00:00Z'),
              };
            }),
          ];
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ metadata: { feature_names: ['customer_id', ...this.featureOrder] }, results }));
        };
        if (this.delayMs) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('serve: online feature enrichment', () => {
  let registry: Registry;
  const fake = new FakeFeatureServer();
  let url: string;
  const servers: ServeServer[] = [];

  beforeAll(async () => {
    ({ registry } = await standardRegistry());
    url = await fake.start();
  });
  afterAll(async () => {
    for (const s of servers) await s.shutdown('test end');
    await fake.stop();
  });

  async function serve(features: Record<string, unknown>, logDir?: string) {
    const { logger, lines } = memoryLogger('info');
    const server = await startServer(testConfig(registry.uri, {
      models: [{ name: 'tabular', ref: 1 }],
      features: { url, featureService: 'cancer_features', entityInputs: { customer_id: 'customer_id' }, timeoutMs: 300, ...features },
      ...(logDir ? { predictionLog: { uri: logDir, flushIntervalMs: 600_000 } } : {}),
    } as never), { registry, logger });
    servers.push(server);
    return { server, lines };
  }

  const byCustomer = (ids: unknown[], datatype = 'INT64') => ({ id: 'f', inputs: [{ name: 'customer_id', shape: [ids.length], datatype, data: ids }] });

  test('entity keys in, the model input assembled from one lookup (features reordered), predictions as with the full rows', async () => {
    const { server } = await serve({});
    const before = fake.requests.length;
    const r = await postJson(server.url, '/v2/models/tabular/infer', byCustomer([3, 7, 12]));
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body);
    expect(body.outputs.find((o: { name: string }) => o.name === 'label').data).toEqual([LABELS[3], LABELS[7], LABELS[12]]);
    const full = await postJson(server.url, '/v2/models/tabular/infer', { id: 'f', inputs: [{ name: 'input', shape: [3, 30], datatype: 'FP32', data: [ref.rows[3], ref.rows[7], ref.rows[12]] }] });
    expect(body).toEqual(JSON.parse(full.body));
    // One round trip for the three rows; the request carrying the full input made none.
    expect(fake.requests.length - before).toBe(1);
    expect(fake.requests[before]).toEqual({ feature_service: 'cancer_features', entities: { customer_id: [3, 7, 12] } });
  });

  test('missing features: 400 naming the entity, the feature and the status (onMissing: reject)', async () => {
    const { server } = await serve({});
    const unknown = await postJson(server.url, '/v2/models/tabular/infer', byCustomer([1, 99]));
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body).error).toBe(`entity customer_id=99: feature '${ref.featureNames[0]}' is NOT_FOUND in the online store (feature service 'cancer_features')`);
    const stale = await postJson(server.url, '/v2/models/tabular/infer', byCustomer([50]));
    expect(JSON.parse(stale.body).error).toBe(`entity customer_id=50: feature '${ref.featureNames[3]}' is OUTSIDE_MAX_AGE in the online store (feature service 'cancer_features')`);
  });

  test('onMissing: default substitutes the configured defaults, and the prediction log records the assembled input', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { tempDir } = await import('./support/fixtures');
    const logDir = tempDir('features-log');
    const defaults = Object.fromEntries(ref.featureNames.map((f, j) => [f, ref.rows[0][j]]));
    const { server } = await serve({ onMissing: 'default', defaults }, logDir);
    const r = await postJson(server.url, '/v2/models/tabular/infer', byCustomer([99, 50, 5]));
    expect(r.status).toBe(200);
    // Customer 99 gets every default (row 0); customer 50 is row 0 with its stale value defaulted (to row 0's).
    expect(JSON.parse(r.body).outputs.find((o: { name: string }) => o.name === 'label').data).toEqual([LABELS[0], LABELS[0], LABELS[5]]);
    await server.predictionLog!.flush();
    const files: string[] = [];
    const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
    walk(logDir);
    const record = JSON.parse(fs.readFileSync(files[0], 'utf8').trim());
    expect(Object.keys(record.inputs[2])).toEqual(ref.featureNames);
    expect(record.inputs[2].mean_radius).toBe(Math.fround(ref.rows[5][0]));
  });

  test('bad entity inputs are 400 with a precise message; a slow or failing feature store is 503, logged', async () => {
    const { server, lines } = await serve({});
    const cases: [unknown, string][] = [
      [{ inputs: [] }, "inputs: missing entity input 'customer_id' (join key 'customer_id'): model 'tabular' takes its features from feature service 'cancer_features', looked up by 'customer_id'"],
      [byCustomer([1.5]), "input 'customer_id' data: holds 1.5; INT64 entity keys must be integers"],
      [byCustomer([1], 'FP32'), "input 'customer_id' datatype: is \"FP32\"; entity keys are INT64, INT32 or BYTES"],
      [{ inputs: [{ name: 'customer_id', shape: [2, 2], datatype: 'INT64', data: [1, 2, 3, 4] }] }, "input 'customer_id' shape: is [2,2]; an entity input has one key per row: [N] or [N, 1]"],
      [{ inputs: [{ name: 'customer_id', shape: [3], datatype: 'INT64', data: [1, 2] }] }, "input 'customer_id' data: must hold 3 entity keys, one per row"],
    ];
    for (const [body, message] of cases) {
      const r = await postJson(server.url, '/v2/models/tabular/infer', body);
      expect({ status: r.status, error: JSON.parse(r.body).error }).toEqual({ status: 400, error: message });
    }
    fake.delayMs = 1000;
    try {
      const slow = await postJson(server.url, '/v2/models/tabular/infer', byCustomer([1]));
      expect(slow.status).toBe(503);
      expect(JSON.parse(slow.body)).toEqual({ error: "online features are unavailable (feature service 'cancer_features'); retry later" });
      expect(lines.some((l) => l.msg === 'online feature lookup failed: no answer within 300 ms')).toBe(true);
    } finally {
      fake.delayMs = 0;
    }
  });
});

describe('serve: errors of the real feature server (cdk-mlops features serve)', () => {
  let registry: Registry;
  let features: RunningFeatureServer;
  const store = new MemoryOnlineStore();
  let failing = false;
  const servers: ServeServer[] = [];

  beforeAll(async () => {
    ({ registry } = await standardRegistry());
    const doc = fixtureRegistry('/nonexistent-offline-root', { type: 'memory', refreshSeconds: 60 });
    const catalog = FeatureCatalog.fromObject({
      ...doc,
      featureServices: [{ name: 'drivers_v1', features: ['driver_stats:conv_rate', 'driver_stats:avg_daily_trips'] }],
      featureServer: { maxEntitiesPerRequest: 3 },
    });
    const read = store.readValues.bind(store);
    store.readValues = async (keys) => {
      if (failing) throw new Error('redis: connection lost (internal host 10.0.0.7:6379)');
      return read(keys);
    };
    features = await startFeatureServer({ catalog, store, host: '127.0.0.1', port: 0, processMetrics: false });
  });
  afterAll(async () => {
    for (const s of servers) await s.shutdown('test end');
    await features.close();
  });

  async function serve(featureService: string) {
    const { logger, lines } = memoryLogger('info');
    const server = await startServer(testConfig(registry.uri, {
      models: [{ name: 'tabular', ref: 1 }],
      features: { url: features.url, featureService, entityInputs: { driver: 'driver_id' }, timeoutMs: 2000 },
    } as never), { registry, logger });
    servers.push(server);
    return { server, lines };
  }
  const byDriver = (ids: unknown[], datatype = 'INT64') => ({ inputs: [{ name: 'driver', shape: [ids.length], datatype, data: ids }] });

  test("a bad entity key value is the client's 400, with the feature server's message", async () => {
    const { server } = await serve('drivers_v1');
    const r = await postJson(server.url, '/v2/models/tabular/infer', byDriver(['abc'], 'BYTES'));
    expect(r.status).toBe(400);
    const error = JSON.parse(r.body).error as string;
    expect(error).toMatch(/^entity keys: the feature server refused them: .*driver_id.*abc/);
    expect(error).not.toContain('[object Object]');
    expect(error).not.toBe('entity keys: the feature server refused them: Bad Request');
  });

  test('an unknown feature service (404) and more rows than the feature server takes (413) are logged deployment errors: 500, no internals', async () => {
    const { server, lines } = await serve('nope');
    const r = await postJson(server.url, '/v2/models/tabular/infer', byDriver([1001]));
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body)).toEqual({ error: "online features are misconfigured for this model (feature service 'nope'); see the server log" });
    expect(lines.some((l) => /^online feature lookup refused: answered HTTP 404: .*'nope'/.test(String(l.msg)))).toBe(true);

    const { server: ok, lines: okLines } = await serve('drivers_v1');
    const big = await postJson(ok.url, '/v2/models/tabular/infer', byDriver([1, 2, 3, 4]));
    expect(big.status).toBe(500);
    expect(JSON.parse(big.body).error).toBe("online features are misconfigured for this model (feature service 'drivers_v1'); see the server log");
    expect(okLines.some((l) => /^online feature lookup refused: answered HTTP 413: .*3/.test(String(l.msg)))).toBe(true);
  });

  test('a failing online store behind the feature server (5xx) is a logged 503 with no internals', async () => {
    const { server, lines } = await serve('drivers_v1');
    failing = true;
    try {
      const r = await postJson(server.url, '/v2/models/tabular/infer', byDriver([1001]));
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toEqual({ error: "online features are unavailable (feature service 'drivers_v1'); retry later" });
      expect(r.body).not.toContain('10.0.0.7');
      expect(lines.some((l) => String(l.msg).startsWith('online feature lookup failed: answered HTTP 500'))).toBe(true);
    } finally {
      failing = false;
    }
  });
});

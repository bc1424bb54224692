/**
 * Feature store benchmark (not a test): online lookups of 1 and 100 entities x 50 features
 * against the local Redis, our one-command lookup (one row per entity, one MGET) side by side
 * with naive clients that store one key per (entity, feature) and GET them; and
 * materialization throughput.
 *
 *   npm run bench:features            (env: BENCH_QUICK=1 for a short run)
 *
 * Variants, each measured in a process of its own (no variant runs in a heap or JIT state that
 * another shaped, nor collects another's garbage), in interleaved rounds so that noise from other
 * processes hits all alike:
 * - `ours (in process)`: OnlineFeatureService.getOnlineFeatures: one MGET of the entities'
 *   rows, the requested values decoded, Feast response built.
 * - `ours (HTTP)`: the same through the feature server on loopback (fetch, keep-alive).
 * - `floor: one PING round trip`: no data at all; its tail is the machine's scheduling noise.
 * - `floor: the same MGET, undecoded`: our one command alone; ours minus this is decoding the
 *   rows and building the response.
 * - `naive sequential`: one GET per feature, each awaited before the next (as a naive client
 *   would write it).
 * - `naive concurrent`: every GET issued at once and awaited together, ioredis auto-pipelining
 *   off (one socket write per command).
 * - `naive concurrent, auto-pipelined`: the same with ioredis auto-pipelining on.
 * The naive variants return raw strings (no decoding, no response building): in their favour.
 * `BENCH_LOOKUP_ONLY=1` skips the materialization part.
 */
import { ChildProcess, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import Redis from 'ioredis';
import type { FeatureRegistryInput } from '../../src/runtime/config/features';
import {
  FeatureCatalog, OnlineFeatureService, RedisOnlineStore, keyspaceFor, materialize, parseRow, startFeatureServer,
} from '../../src/runtime/features';

const QUICK = process.env.BENCH_QUICK === '1';
const LOOKUP_ONLY = process.env.BENCH_LOOKUP_ONLY === '1';
const FEATURES = 50;
const LOOKUP_ENTITIES = 2000; // entities the lookups draw from
const MAT_ENTITIES = 10_000;
const MAT_ROWS_PER_ENTITY = 5; // 50,000 rows
const PREFIX = process.env.BENCH_PREFIX ?? `cdk-mlops-bench:features:${process.pid}:`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type Variant = { name: string; run: (ids: number[]) => Promise<unknown> };

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function featureNames(): string[] {
  return Array.from({ length: FEATURES }, (_, i) => `f${String(i).padStart(2, '0')}`);
}

function writeOffline(dir: string, entities: number, rowsPerEntity: number, files: number): number {
  const names = featureNames();
  const total = entities * rowsPerEntity;
  const perFile = Math.ceil(total / files);
  const base = Date.parse('2024-01-01T00:00:00Z');
  let written = 0;
  for (let f = 0; f < files; f++) {
    const n = Math.min(perFile, total - written);
    const ids: bigint[] = [];
    const ts: Date[] = [];
    for (let i = 0; i < n; i++) {
      const row = written + i;
      ids.push(BigInt(row % entities));
      ts.push(new Date(base + Math.floor(row / entities) * 3_600_000));
    }
    const columns = [
      { name: 'user_id', data: ids, type: 'INT64' as const },
      { name: 'event_timestamp', data: ts, type: 'TIMESTAMP' as const },
      ...names.map((name, j) => ({ name, type: 'DOUBLE' as const, data: Array.from({ length: n }, (_, i) => ((written + i) * 31 + j) % 1000 / 7) })),
    ];
    fs.writeFileSync(path.join(dir, `part-${String(f).padStart(3, '0')}.parquet`), Buffer.from(parquetWriteBuffer({ columnData: columns })));
    written += n;
  }
  return written;
}

function registry(root: string, view: string): FeatureRegistryInput {
  return {
    project: 'bench',
    entities: [{ name: 'user', joinKey: 'user_id', valueType: 'int64' }],
    featureViews: [{
      name: view, entities: ['user'], features: featureNames().map((name) => ({ name, valueType: 'float64' as const })),
      source: { type: 'parquet', path: view },
    }],
    onlineStore: { type: 'redis', url: REDIS_URL, keyPrefix: PREFIX },
    offlineStore: { root },
    featureServer: { maxEntitiesPerRequest: 1000 },
  };
}

async function deletePrefix(redis: Redis): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}


/** The lookup variants, each with its own connections (built in the process that measures it). */
async function makeVariants(root: string, url: string): Promise<{ variants: Variant[]; close: () => Promise<void> }> {
  const redisConfig = { type: 'redis' as const, url: REDIS_URL, keyPrefix: PREFIX, tls: false, connectTimeoutMs: 5000, commandTimeoutMs: 5000 };
  const catalog = FeatureCatalog.fromObject(registry(root, 'bench_stats'));
  const store = await RedisOnlineStore.connect(redisConfig);
  const naivePipelined = new Redis(REDIS_URL, { enableAutoPipelining: true });
  const naivePlain = new Redis(REDIS_URL, { enableAutoPipelining: false });
  const names = featureNames();
  const naiveKey = (id: number, f: string) => `${PREFIX}naive:bench_stats:${id}:${f}`;
  const keyspace = keyspaceFor(catalog);
  const refs = names.map((f) => `bench_stats:${f}`);
  const service = new OnlineFeatureService(catalog, store);
  const variants: Variant[] = [
    { name: 'ours (in process)', run: (ids) => service.getOnlineFeatures({ features: refs, entities: { user_id: ids } }) },
    // The floor: one round trip carrying nothing. Its tail is what the machine's scheduling adds.
    { name: 'floor: one PING round trip', run: () => naivePlain.ping() },
    // Our one MGET alone, the rows left undecoded: what Redis and the transfer cost; ours minus this is decoding and the response.
    { name: 'floor: the same MGET, undecoded', run: (ids) => store.readValues(ids.map((id) => keyspace.row('bench_stats', String(id)))) },
    {
      name: 'ours (HTTP)',
      run: async (ids) => {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: refs, entities: { user_id: ids } }) });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        return res.json();
      },
    },
    {
      name: 'naive sequential',
      run: async (ids) => {
        const out: (string | null)[] = [];
        for (const id of ids) for (const f of names) out.push(await naivePlain.get(naiveKey(id, f)));
        return out;
      },
    },
    { name: 'naive concurrent', run: (ids) => Promise.all(ids.flatMap((id) => names.map((f) => naivePlain.get(naiveKey(id, f))))) },
    { name: 'naive concurrent, auto-pipelined', run: (ids) => Promise.all(ids.flatMap((id) => names.map((f) => naivePipelined.get(naiveKey(id, f))))) },
  ];
  return {
    variants,
    close: async () => {
      await store.close();
      naivePipelined.disconnect();
      naivePlain.disconnect();
    },
  };
}

/** A block of lookups sent to a variant's process: ids per lookup; the answer is one duration (ms) per lookup. */
interface BlockRequest { readonly ids: number[][]; readonly warmUp: boolean }

/**
 * Worker mode: one process per variant, so that no variant measures in a heap or JIT state that
 * another one shaped (in one process, the naive variants' 5,000 in-flight commands per lookup
 * made V8 treat the shared Redis client's allocations as long-lived, doubling our lookups' p50).
 */
async function worker(name: string): Promise<void> {
  const { variants, close } = await makeVariants(process.env.BENCH_ROOT!, process.env.BENCH_URL!);
  const v = variants.find((x) => x.name === name);
  if (!v) throw new Error(`unknown variant '${name}'`);
  process.on('message', (msg: BlockRequest | 'exit') => {
    if (msg === 'exit') {
      void close().then(() => process.exit(0));
      return;
    }
    void (async () => {
      const out: number[] = [];
      for (const ids of msg.ids) {
        const t0 = process.hrtime.bigint();
        await v.run(ids);
        out.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      process.send!(msg.warmUp ? [] : out);
    })();
  });
  process.send!('ready');
}

/** Forks one measuring process per variant. */
async function startWorkers(names: string[], root: string, url: string): Promise<Map<string, ChildProcess>> {
  const workers = new Map<string, ChildProcess>();
  for (const name of names) {
    const child = fork(__filename, [], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      env: { ...process.env, BENCH_FEATURES_VARIANT: name, BENCH_ROOT: root, BENCH_URL: url, BENCH_PREFIX: PREFIX },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`variant process '${name}' exited with ${code}`)));
    });
    workers.set(name, child);
  }
  return workers;
}

function block(child: ChildProcess, request: BlockRequest): Promise<number[]> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as number[]));
    child.send(request);
  });
}

/** Interleaved rounds: each round runs a block of `perRound` lookups on every variant in turn, each in its own process. */
async function measure(workers: Map<string, ChildProcess>, names: string[], entities: number, rounds: number, perRound: number): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  let seed = 7;
  const nextIds = () => Array.from({ length: entities }, () => { seed = (seed * 48271) % 2147483647; return seed % LOOKUP_ENTITIES; });
  const lookups = (n: number) => Array.from({ length: n }, nextIds);
  // warm-up (each process compiles its own code, to the optimizing tier): 500 lookups of 1
  // entity, 30 of 100 (2 for the slowest variant)
  for (const n of names) await block(workers.get(n)!, { ids: lookups(n === 'naive sequential' && entities > 1 ? 2 : entities > 1 ? 30 : 500), warmUp: true });
  for (let r = 0; r < rounds; r++) {
    for (const n of names) samples.get(n)!.push(...await block(workers.get(n)!, { ids: lookups(perRound), warmUp: false }));
  }
  return samples;
}

function summarize(samples: Map<string, number[]>): { name: string; n: number; p50: number; p99: number; mean: number }[] {
  return [...samples].map(([name, xs]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { name, n: xs.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: xs.reduce((a, b) => a + b, 0) / xs.length };
  });
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-features-'));
  const admin = new Redis(REDIS_URL);
  const redisConfig = { type: 'redis' as const, url: REDIS_URL, keyPrefix: PREFIX, tls: false, connectTimeoutMs: 5000, commandTimeoutMs: 5000 };
  const store = await RedisOnlineStore.connect(redisConfig);
  const serverStore = await RedisOnlineStore.connect(redisConfig);
  const report: Record<string, unknown> = {
    date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, quick: QUICK,
  };
  let server: Awaited<ReturnType<typeof startFeatureServer>> | undefined;
  let workers = new Map<string, ChildProcess>();
  try {
    // --- materialization throughput -------------------------------------------------------
    fs.mkdirSync(path.join(root, 'mat_stats'));
    const matRows = writeOffline(path.join(root, 'mat_stats'), QUICK ? 2000 : MAT_ENTITIES, MAT_ROWS_PER_ENTITY, 5);
    const matCatalog = FeatureCatalog.fromObject(registry(root, 'mat_stats'));
    // Baseline, run alternately with it: only reading the same files into row objects with
    // hyparquet's parquetReadObjects (what a simple loader would do), no reduce, no writes.
    const matDir = path.join(root, 'mat_stats');
    const readOnly = async (): Promise<number> => {
      const t0 = performance.now();
      let n = 0;
      for (const f of fs.readdirSync(matDir).sort()) {
        const buf = fs.readFileSync(path.join(matDir, f));
        n += (await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer })).length;
      }
      return Math.round(n / ((performance.now() - t0) / 1000));
    };
    const runs: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < (LOOKUP_ONLY ? 0 : QUICK ? 1 : 3); i++) {
      baseline.push(await readOnly());
      const r = await materialize(matCatalog, store, { full: true });
      runs.push(r.rowsPerSecond);
      process.stderr.write(`materialize run ${i + 1}: ${r.rowsRead} rows, ${r.entitiesWritten} entities x ${FEATURES} features in ${Math.round(r.durationMs)} ms = ${r.rowsPerSecond} rows/s (read-only baseline ${baseline[i]} rows/s)\n`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    if (runs.length > 0) report.materialization = {
      rows: matRows, features: FEATURES, runsRowsPerSecond: runs, medianRowsPerSecond: median(runs),
      readOnlyBaselineRowsPerSecond: baseline, medianRatioToReadOnly: median(runs.map((r, i) => r / baseline[i])),
    };

    // --- lookups ---------------------------------------------------------------------------
    fs.mkdirSync(path.join(root, 'bench_stats'));
    writeOffline(path.join(root, 'bench_stats'), LOOKUP_ENTITIES, 1, 1);
    const catalog = FeatureCatalog.fromObject(registry(root, 'bench_stats'));
    await materialize(catalog, store);
    // The naive layout: one string key per (entity, feature), each holding its value's JSON text.
    const names = featureNames();
    const naiveKey = (id: number, f: string) => `${PREFIX}naive:bench_stats:${id}:${f}`;
    const keyspace = keyspaceFor(catalog);
    for (let id0 = 0; id0 < LOOKUP_ENTITIES; id0 += 100) {
      const rows = await store.readValues(Array.from({ length: 100 }, (_, i) => keyspace.row('bench_stats', String(id0 + i))));
      const p = admin.pipeline();
      rows.forEach((raw, i) => parseRow(raw!).slice(3).forEach((v, j) => p.set(naiveKey(id0 + i, names[j]), JSON.stringify(v))));
      await p.exec();
    }
    const refs = names.map((f) => `bench_stats:${f}`);
    const service = new OnlineFeatureService(catalog, store);
    server = await startFeatureServer({ catalog, store: serverStore, host: '127.0.0.1', port: 0, processMetrics: false });
    const url = `${server.url}/get-online-features`;
    const check = await service.getOnlineFeatures({ features: refs, entities: { user_id: [1] } });
    if (check.results[1].statuses[0] !== 'PRESENT') throw new Error('lookup check failed: features not materialized');

    const variantNames = (await makeVariants(root, url).then(async (m) => { await m.close(); return m.variants.map((v) => v.name); }));
    workers = await startWorkers(variantNames, root, url);
    const scenarios = [
      { entities: 1, rounds: QUICK ? 3 : 10, perRound: QUICK ? 50 : 200 },
      { entities: 100, rounds: QUICK ? 3 : 10, perRound: QUICK ? 5 : 50 },
    ];
    const lookups: Record<string, unknown> = {};
    for (const s of scenarios) {
      // naive sequential at 100 entities is 5000 round trips per lookup: fewer samples of it.
      const vs = s.entities === 100 ? variantNames.filter((v) => v !== 'naive sequential') : variantNames;
      const stats = summarize(await measure(workers, vs, s.entities, s.rounds, s.perRound));
      if (s.entities === 100) stats.push(...summarize(await measure(workers, ['naive sequential'], 100, QUICK ? 1 : 3, QUICK ? 2 : 5)));
      const ours = stats[0];
      lookups[`${s.entities}`] = stats.map((x) => ({ ...x, p50Ratio: x.p50 / ours.p50, p99Ratio: x.p99 / ours.p99 }));
      process.stderr.write(`\n${s.entities} entit${s.entities === 1 ? 'y' : 'ies'} x ${FEATURES} features\n`);
      process.stderr.write('| variant | n | p50 ms | p99 ms | mean ms | p50 vs ours | p99 vs ours |\n|---|---|---|---|---|---|---|\n');
      for (const x of stats) {
        process.stderr.write(`| ${x.name} | ${x.n} | ${x.p50.toFixed(3)} | ${x.p99.toFixed(3)} | ${x.mean.toFixed(3)} | ${(x.p50 / ours.p50).toFixed(1)}x | ${(x.p99 / ours.p99).toFixed(1)}x |\n`);
      }
    }
    report.lookups = lookups;
    const one = (lookups['1'] as { name: string; p99: number }[])[0];
    const hundred = lookups['100'] as { name: string; p50: number; p99: number }[];
    report.goals = {
      'p99 <= 2 ms, 1 entity (in process)': one.p99 <= 2,
      'p99 <= 5 ms, 100 entities (in process)': hundred[0].p99 <= 5,
      '>= 5x every naive variant at 100 entities (p50)': hundred.filter((x) => x.name.startsWith('naive')).every((x) => x.p50 / hundred[0].p50 >= 5),
    };
    process.stderr.write(`\nmaterialization: ${JSON.stringify(report.materialization)}\ngoals: ${JSON.stringify(report.goals, null, 1)}\n`);
    fs.mkdirSync(path.join(__dirname, '..', 'results'), { recursive: true });
    const out = path.join(__dirname, '..', 'results', `features-${Date.now()}.json`);
    fs.writeFileSync(out, JSON.stringify(report, null, 2));
    process.stderr.write(`results: ${out}\n`);
  } finally {
    for (const w of workers.values()) {
      w.send('exit');
      await new Promise((resolve) => w.once('exit', resolve));
    }
    await server?.close();
    const deleted = await deletePrefix(admin);
    process.stderr.write(`cleaned up ${deleted} keys\n`);
    await store.close();
    admin.disconnect();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

(process.env.BENCH_FEATURES_VARIANT ? worker(process.env.BENCH_FEATURES_VARIANT) : main()).catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});

/**
 * Serving benchmark (not a test). Load from this process (autocannon) on loopback against
 * three servers, each in its own process, side by side in one run:
 *
 *   (a) bare      node:http + JSON.parse + one session.run per request: the physical limit
 *   (b) serve     `cdk-mlops serve`, dynamic batching off
 *   (c) serve     `cdk-mlops serve`, dynamic batching on (up to 64 rows, no added delay)
 *
 * at concurrency 1 and 64 (keep-alive connections, one request in flight per connection),
 * with one-row requests of 30 features (rows of breast_cancer.csv), for two models:
 *
 *   tabular   the breast-cancer MLP fixture (30 -> 16 -> 2): a small tabular model where the
 *             fixed cost of a run dominates (a run of 64 rows costs what a run of 1 does)
 *   wide      a 30 -> 1024 -> 1024 -> 2 MLP generated here with seeded random weights: a run of
 *             one row costs ~7x per row what a row costs inside a batch of 64 (weights read
 *             once per run)
 *
 * Reports requests/s, server CPU per request (user + kernel, from /proc: the figure that holds
 * on a machine shared with other work), p50/p99 latency, and the server's resident memory
 * (after the run, and its peak). Rounds are interleaved (a, b, c, a, b, c, ...) and the median
 * round reported, so that noise from other processes hits every variant alike.
 *
 *   npm run bench:serve                 BENCH_DURATION=5 (seconds) BENCH_ROUNDS=3 by default
 *   BENCH_QUICK=1 npm run bench:serve   2-second runs, one round
 *   BENCH_MODELS=tabular                only some models (comma-separated: tabular, wide)
 *
 * Goals (issue 4): (b) >= 0.9 x (a) at concurrency 1; (c) >= 3 x (b) at concurrency 64.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OnnxGraphBuilder, TensorDataType } from '../../src/runtime/train/onnx';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

const ROOT = path.join(__dirname, '..', '..');
const QUICK = process.env.BENCH_QUICK === '1';
const DURATION = Number(process.env.BENCH_DURATION ?? (QUICK ? 2 : 5));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const WARMUP = QUICK ? 1 : 2;
const MODELS = (process.env.BENCH_MODELS ?? 'tabular,wide').split(',').map((m) => m.trim()).filter(Boolean);
const CONCURRENCY = [1, 64];

/** The 30 -> width -> width -> 2 MLP, FP32 [N, 30] -> [N, 2], seeded random weights. */
function wideMlp(width: number): Uint8Array {
  const b = new OnnxGraphBuilder('wide_mlp');
  let seed = 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const matrix = (rows: number, cols: number) => ({ type: TensorDataType.FLOAT, values: Array.from({ length: rows * cols }, () => random() / Math.sqrt(rows)) });
  const x = b.input('input', TensorDataType.FLOAT, ['N', 30]);
  const w1 = b.initializer('w1', [30, width], matrix(30, width));
  const w2 = b.initializer('w2', [width, width], matrix(width, width));
  const w3 = b.initializer('w3', [width, 2], matrix(width, 2));
  const [h1] = b.node('Relu', [b.node('MatMul', [x, w1])[0]]);
  const [h2] = b.node('Relu', [b.node('MatMul', [h1, w2])[0]]);
  b.node('Softmax', [b.node('MatMul', [h2, w3])[0]], { outputs: ['probabilities'], attributes: { axis: { int: 1 } } });
  b.output('probabilities', TensorDataType.FLOAT, ['N', 2]);
  return b.toBytes({ producerVersion: 'bench' });
}

function modelFile(name: string, dir: string): string {
  if (name === 'tabular') return path.join(ROOT, 'test', 'fixtures', 'onnx', 'tabular-mlp.onnx');
  if (name === 'wide') {
    const file = path.join(dir, 'wide-mlp.onnx');
    fs.writeFileSync(file, wideMlp(1024));
    return file;
  }
  throw new Error(`BENCH_MODELS: unknown model ${JSON.stringify(name)}; expected tabular or wide`);
}

interface Variant {
  readonly key: '0' | '0f' | 'a' | 'b' | 'c';
  readonly label: string;
  readonly args: string[];
  readonly path: string;
}

function variants(model: string): Variant[] {
  return [
    { key: '0', label: '(0) floor: node:http, constant answer', args: ['floor', model], path: '/' },
    { key: '0f', label: '(0f) floor: fastify, JSON parsed, constant answer', args: ['floor-fastify', model], path: '/v2/models/bench/infer' },
    { key: 'a', label: '(a) bare node:http + session.run', args: ['bare', model], path: '/' },
    { key: 'b', label: '(b) serve, batching off', args: ['serve', model, 'off'], path: '/v2/models/bench/infer' },
    { key: 'c', label: '(c) serve, batching on', args: ['serve', model, 'on'], path: '/v2/models/bench/infer' },
  ];
}

interface Running {
  readonly proc: ChildProcess;
  readonly url: string;
}

function start(v: Variant): Promise<Running> {
  const proc = spawn(process.execPath, ['-r', path.join(__dirname, 'ts-hook.js'), path.join(__dirname, 'server.ts'), ...v.args], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve({ proc, url: (JSON.parse(line) as { url: string }).url });
    });
    proc.on('exit', (code) => reject(new Error(`${v.label} exited with ${code} before listening`)));
  });
}

async function stop(r: Running): Promise<void> {
  const exited = new Promise<void>((resolve) => r.proc.on('exit', () => resolve()));
  r.proc.kill('SIGTERM');
  await exited;
}

/** CPU seconds (every thread) the process has used so far, in user and in kernel mode. */
function cpuSeconds(pid: number): { user: number; system: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (USER_HZ = 100 on Linux).
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

function memory(pid: number): { rssMiB: number; peakMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

function bodies(): string[] {
  const csv = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'data', 'breast_cancer.csv'), 'utf8').trim().split('\n').slice(1);
  return csv.slice(0, 50).map((line) => {
    const row = line.split(',').slice(0, 30).map(Number);
    return JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row }] });
  });
}

interface Measure {
  readonly rps: number;
  /** Server CPU (user + kernel) per answered request, in microseconds: robust to other load on the machine. */
  readonly cpuUs: number;
  /** The user-mode part: the server's own code (the kernel part is mostly the socket writes, alike for all). */
  readonly userUs: number;
  readonly p50: number;
  readonly p99: number;
  /**
   * Mean latency in microseconds, by Little's law (connections / requests per second: exact
   * for this closed loop of one request in flight per connection); autocannon's percentiles
   * are whole milliseconds.
   */
  readonly meanUs: number;
  readonly rssMiB: number;
  readonly peakMiB: number;
  readonly failed: number;
}

async function measure(r: Running, v: Variant, connections: number, duration: number): Promise<Measure> {
  const requests = bodies().map((body) => ({ method: 'POST', path: v.path, headers: { 'content-type': 'application/json' }, body }));
  const cpu0 = cpuSeconds(r.proc.pid!);
  const result = await autocannon({ url: r.url, connections, pipelining: 1, duration, requests });
  const cpu1 = cpuSeconds(r.proc.pid!);
  const mem = memory(r.proc.pid!);
  const per = (seconds: number) => (seconds / Math.max(1, result.requests.total)) * 1e6;
  return {
    rps: result.requests.average,
    cpuUs: per(cpu1.user + cpu1.system - cpu0.user - cpu0.system),
    userUs: per(cpu1.user - cpu0.user),
    p50: result.latency.p50,
    p99: result.latency.p99,
    meanUs: (connections / Math.max(1e-9, result.requests.average)) * 1e6,
    ...mem,
    failed: result.errors + result.timeouts + result.non2xx,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

interface ModelSummary {
  readonly rows: Record<string, Record<string, number>>;
  readonly ratios: Record<string, number>;
  readonly table: string[];
}

async function benchModel(name: string, file: string): Promise<ModelSummary> {
  const VARIANTS = variants(file);
  const results = new Map<string, Measure[]>();
  const servers = new Map<string, Running>();
  process.stdout.write(`\nmodel ${name} (${path.basename(file)}):\n`);
  try {
    for (const v of VARIANTS) servers.set(v.key, await start(v));
    for (const c of CONCURRENCY) {
      for (const v of VARIANTS) await measure(servers.get(v.key)!, v, c, WARMUP);
      for (let round = 0; round < ROUNDS; round++) {
        for (const v of VARIANTS) {
          const m = await measure(servers.get(v.key)!, v, c, DURATION);
          const key = `${v.key}@${c}`;
          results.set(key, [...(results.get(key) ?? []), m]);
          process.stdout.write(`  round ${round + 1} c=${c} ${v.label}: ${m.rps.toFixed(0)} req/s, ${m.cpuUs.toFixed(1)} us CPU/req (${m.userUs.toFixed(1)} user), mean ${m.meanUs.toFixed(0)} us, p50 ${m.p50} ms, p99 ${m.p99} ms, rss ${m.rssMiB.toFixed(0)} MiB${m.failed ? `, ${m.failed} FAILED` : ''}\n`);
        }
      }
    }
  } finally {
    for (const s of servers.values()) await stop(s);
  }

  const rows: Record<string, Record<string, number>> = {};
  const table = [`| model | server | concurrency | req/s | server CPU us/req (user) | mean latency us | p50 ms | p99 ms | RSS MiB (peak) | failed |`, '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const c of CONCURRENCY) {
    for (const v of VARIANTS) {
      const ms = results.get(`${v.key}@${c}`)!;
      const row = {
        rps: median(ms.map((m) => m.rps)), cpuUs: median(ms.map((m) => m.cpuUs)), userUs: median(ms.map((m) => m.userUs)), meanUs: median(ms.map((m) => m.meanUs)), p50: median(ms.map((m) => m.p50)), p99: median(ms.map((m) => m.p99)),
        rssMiB: median(ms.map((m) => m.rssMiB)), peakMiB: Math.max(...ms.map((m) => m.peakMiB)), failed: ms.reduce((a, m) => a + m.failed, 0),
      };
      rows[`${v.key}@${c}`] = row;
      table.push(`| ${name} | ${v.label} | ${c} | ${row.rps.toFixed(0)} | ${row.cpuUs.toFixed(1)} (${row.userUs.toFixed(1)}) | ${row.meanUs.toFixed(0)} | ${row.p50} | ${row.p99} | ${row.rssMiB.toFixed(0)} (${row.peakMiB.toFixed(0)}) | ${row.failed} |`);
    }
  }
  // Ratios from requests/s, and the same from server CPU per request (the capacity of one
  // core: what the server costs, whatever else the machine was doing).
  const ratios = {
    bVsAat1: rows['b@1'].rps / rows['a@1'].rps,
    bVsAat1Cpu: rows['a@1'].cpuUs / rows['b@1'].cpuUs,
    cVsBat64: rows['c@64'].rps / rows['b@64'].rps,
    cVsBat64Cpu: rows['b@64'].cpuUs / rows['c@64'].cpuUs,
    cVsAat64: rows['c@64'].rps / rows['a@64'].rps,
    cVsAat64Cpu: rows['a@64'].cpuUs / rows['c@64'].cpuUs,
    // The most batching could give: (b)'s CPU per request over the floor's (a request that
    // costs nothing but its HTTP exchange), on node:http and on fastify.
    cVsBceiling64Cpu: rows['b@64'].cpuUs / rows['0@64'].cpuUs,
    cVsBceilingFastify64Cpu: rows['b@64'].cpuUs / rows['0f@64'].cpuUs,
  };
  return { rows, ratios, table };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-serve-models-'));
  process.stdout.write(`serve benchmark: models ${MODELS.join(', ')}, ${DURATION} s per run, ${ROUNDS} round(s), ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  const summaries: Record<string, ModelSummary> = {};
  try {
    for (const name of MODELS) summaries[name] = await benchModel(name, modelFile(name, tmp));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const verdict = (x: number, goal: number) => (x >= goal ? 'met' : 'NOT met');
  const lines = [''];
  for (const name of MODELS) lines.push(...summaries[name].table.slice(name === MODELS[0] ? 0 : 2));
  lines.push('', '| model | ratio | goal | from req/s | from server CPU per request |', '| --- | --- | ---: | ---: | ---: |');
  for (const name of MODELS) {
    const r = summaries[name].ratios;
    lines.push(`| ${name} | (b) / (a) at concurrency 1 | >= 0.9x | ${r.bVsAat1.toFixed(2)}x (${verdict(r.bVsAat1, 0.9)}) | ${r.bVsAat1Cpu.toFixed(2)}x (${verdict(r.bVsAat1Cpu, 0.9)}) |`);
    lines.push(`| ${name} | (c) / (b) at concurrency 64 | >= 3x | ${r.cVsBat64.toFixed(2)}x (${verdict(r.cVsBat64, 3)}) | ${r.cVsBat64Cpu.toFixed(2)}x (${verdict(r.cVsBat64Cpu, 3)}) |`);
    lines.push(`| ${name} | (c) / (a) at concurrency 64 | - | ${r.cVsAat64.toFixed(2)}x | ${r.cVsAat64Cpu.toFixed(2)}x |`);
    lines.push(`| ${name} | ceiling of (c) / (b) at concurrency 64 on node:http: (b) / (0) | - | - | ${r.cVsBceiling64Cpu.toFixed(2)}x |`);
    lines.push(`| ${name} | ceiling of (c) / (b) at concurrency 64 on fastify: (b) / (0f) | - | - | ${r.cVsBceilingFastify64Cpu.toFixed(2)}x |`);
  }
  lines.push('', `load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  process.stdout.write(lines.join('\n') + '\n');
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `serve-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const out = Object.fromEntries(MODELS.map((m) => [m, { rows: summaries[m].rows, ratios: summaries[m].ratios }]));
  fs.writeFileSync(file, JSON.stringify({ duration: DURATION, rounds: ROUNDS, cpus: os.cpus().length, node: process.version, models: out }, null, 2));
  process.stdout.write(`results: ${path.relative(ROOT, file)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

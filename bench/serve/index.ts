/**
 * Serving benchmark (not a test). Load from this process (autocannon) on loopback against
 * three servers, each in its own process, side by side in one run:
 *
 *   (a) bare      node:http + JSON.parse + one session.run per request: the physical limit
 *   (b) serve     `cdk-mlops serve`, dynamic batching off
 *   (c) serve     `cdk-mlops serve`, dynamic batching on (up to 64 rows, no added delay)
 *
 * at concurrency 1 and 64 (keep-alive connections, one request in flight per connection),
 * with one-row requests (30 features) to the breast-cancer MLP fixture: a small tabular model
 * where the fixed cost of each run dominates. Reports requests/s, p50/p99 latency, and the
 * server's resident memory (after the run, and its peak). Rounds are interleaved
 * (a, b, c, a, b, c, ...) and the median round reported, so that noise from other processes
 * on the machine hits every variant alike.
 *
 *   npm run bench:serve                 BENCH_DURATION=5 (seconds) BENCH_ROUNDS=5 by default
 *   BENCH_QUICK=1 npm run bench:serve   2-second runs, one round
 *   BENCH_MODEL=path/to/model.onnx      another FP32 [N, F] model
 *
 * Goals (issue 4): (b) >= 0.9 x (a) at concurrency 1; (c) >= 3 x (b) at concurrency 64.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const WARMUP = QUICK ? 1 : 2;
const MODEL = process.env.BENCH_MODEL ?? path.join(ROOT, 'test', 'fixtures', 'onnx', 'tabular-mlp.onnx');
const CONCURRENCY = [1, 64];

interface Variant {
  readonly key: 'a' | 'b' | 'c';
  readonly label: string;
  readonly args: string[];
  readonly path: string;
}

const VARIANTS: Variant[] = [
  { key: 'a', label: '(a) bare node:http + session.run', args: ['bare', MODEL], path: '/' },
  { key: 'b', label: '(b) serve, batching off', args: ['serve', MODEL, 'off'], path: '/v2/models/bench/infer' },
  { key: 'c', label: '(c) serve, batching on', args: ['serve', MODEL, 'on'], path: '/v2/models/bench/infer' },
];

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
    ...mem,
    failed: result.errors + result.timeouts + result.non2xx,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const results = new Map<string, Measure[]>();
  const servers = new Map<string, Running>();
  process.stdout.write(`serve benchmark: model ${path.relative(ROOT, MODEL)}, ${DURATION} s per run, ${ROUNDS} round(s), ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}\n`);
  try {
    for (const v of VARIANTS) servers.set(v.key, await start(v));
    for (const c of CONCURRENCY) {
      for (const v of VARIANTS) await measure(servers.get(v.key)!, v, c, WARMUP);
      for (let round = 0; round < ROUNDS; round++) {
        for (const v of VARIANTS) {
          const m = await measure(servers.get(v.key)!, v, c, DURATION);
          const key = `${v.key}@${c}`;
          results.set(key, [...(results.get(key) ?? []), m]);
          process.stdout.write(`  round ${round + 1} c=${c} ${v.label}: ${m.rps.toFixed(0)} req/s, ${m.cpuUs.toFixed(1)} us CPU/req (${m.userUs.toFixed(1)} user), p50 ${m.p50} ms, p99 ${m.p99} ms, rss ${m.rssMiB.toFixed(0)} MiB${m.failed ? `, ${m.failed} FAILED` : ''}\n`);
        }
      }
    }
  } finally {
    for (const s of servers.values()) await stop(s);
  }

  const summary: Record<string, Record<string, number>> = {};
  const lines = ['', '| server | concurrency | req/s | server CPU us/req (user) | p50 ms | p99 ms | RSS MiB (peak) | failed |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const c of CONCURRENCY) {
    for (const v of VARIANTS) {
      const ms = results.get(`${v.key}@${c}`)!;
      const row = {
        rps: median(ms.map((m) => m.rps)), cpuUs: median(ms.map((m) => m.cpuUs)), userUs: median(ms.map((m) => m.userUs)), p50: median(ms.map((m) => m.p50)), p99: median(ms.map((m) => m.p99)),
        rssMiB: median(ms.map((m) => m.rssMiB)), peakMiB: Math.max(...ms.map((m) => m.peakMiB)), failed: ms.reduce((a, m) => a + m.failed, 0),
      };
      summary[`${v.key}@${c}`] = row;
      lines.push(`| ${v.label} | ${c} | ${row.rps.toFixed(0)} | ${row.cpuUs.toFixed(1)} (${row.userUs.toFixed(1)}) | ${row.p50} | ${row.p99} | ${row.rssMiB.toFixed(0)} (${row.peakMiB.toFixed(0)}) | ${row.failed} |`);
    }
  }
  const bVsA = summary['b@1'].rps / summary['a@1'].rps;
  const cVsB = summary['c@64'].rps / summary['b@64'].rps;
  // The same ratios from server CPU per request (capacity of one core): what the server costs,
  // whatever else the machine was doing.
  const bVsACpu = summary['a@1'].cpuUs / summary['b@1'].cpuUs;
  const cVsBCpu = summary['b@64'].cpuUs / summary['c@64'].cpuUs;
  const verdict = (x: number, goal: number) => (x >= goal ? 'met' : 'NOT met');
  lines.push('', '| ratio | goal | from req/s | from server CPU per request |', '| --- | ---: | ---: | ---: |');
  lines.push(`| (b) / (a) at concurrency 1 | >= 0.9x | ${bVsA.toFixed(2)}x (${verdict(bVsA, 0.9)}) | ${bVsACpu.toFixed(2)}x (${verdict(bVsACpu, 0.9)}) |`);
  lines.push(`| (c) / (b) at concurrency 64 | >= 3x | ${cVsB.toFixed(2)}x (${verdict(cVsB, 3)}) | ${cVsBCpu.toFixed(2)}x (${verdict(cVsBCpu, 3)}) |`);
  lines.push(`| (c) / (a) at concurrency 64 | - | ${(summary['c@64'].rps / summary['a@64'].rps).toFixed(2)}x | ${(summary['a@64'].cpuUs / summary['c@64'].cpuUs).toFixed(2)}x |`);
  process.stdout.write(lines.join('\n') + '\n');
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `serve-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ model: path.relative(ROOT, MODEL), duration: DURATION, rounds: ROUNDS, cpus: os.cpus().length, node: process.version, summary, ratios: { bVsAat1: bVsA, cVsBat64: cVsB, bVsAat1Cpu: bVsACpu, cVsBat64Cpu: cVsBCpu } }, null, 2));
  process.stdout.write(`results: ${path.relative(ROOT, file)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

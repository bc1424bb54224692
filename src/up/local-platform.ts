import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlertInbox } from './inbox';
import { fileNameOf, LocalSettings, LocalWorkload, localizeWorkload, seedInput, writeJsonAtomic } from './localize';
import { PlatformProgram } from './program';
import { lastLogEvent, StatusView } from './status';
import { freePort, ServiceStartError, Supervised, Supervisor, tailFile, UpLock } from './supervisor';
import { chooseEnvironment, discoverWorkloads, EnvironmentWorkloads, RuntimeWorkload } from './workloads';
import type { PlatformSynthesis } from '../constructs/app';
import { parseCron } from '../constructs/monitor/cron';
import type { PinLookup } from '../promote/pins';
import type { MonitorResult } from '../runtime/monitor/result';

/** How to run `cdk-mlops up`. */
export interface UpOptions {
  /** The platform program. */
  readonly appFile: string;
  /** The environment to run. @default - `dev`, else the first */
  readonly environment?: string;
  /** Where everything local lives (registry, logs, reports, configs, process logs). */
  readonly stateDir: string;
  /** Directories holding the data files the program reads from S3 (`<dir>/<key>` or `<dir>/<file name>`). */
  readonly seedDirs: readonly string[];
  readonly status: StatusView;
  /** Start from an empty state: registry, logs, reports and records of an earlier run are removed. */
  readonly fresh: boolean;
  /** Longest a job may run, in milliseconds. @default 600000 */
  readonly jobTimeoutMs?: number;
  /** Longest a service may take to become ready, in milliseconds. @default 60000 */
  readonly readyTimeoutMs?: number;
  /** Redis URL of the online store; null: use the in-process store. @default 'redis://127.0.0.1:6379' when it answers */
  readonly redisUrl?: string | null;
  /** The command that runs the runtime: `[node, <package>/bin/cdk-mlops]`. @default - this package's bin */
  readonly runtimeCommand?: readonly string[];
}

/** A job run: what ran and how it ended. */
export interface JobRun {
  readonly id: string;
  readonly role: string;
  readonly reason: string;
  readonly exitCode: number | null;
  readonly logFile: string;
  readonly durationMs: number;
}

/** What applying a new synthesis changed. */
export interface SyncChange {
  readonly id: string;
  readonly action: 'reloaded' | 'restarted' | 'started' | 'stopped' | 'ran' | 'updated';
  readonly detail?: string;
}

/** The file that marks a directory as up's state directory. */
const STATE_MARKER = '.cdk-mlops-up';

const STATE_PARTS = ['s3', 'config', 'logs', 'work', 'monitor', 'retrain', 'alerts', 'secrets', 'traffic', 'dist', 'pins', 'jobs.json', 'summary.json'];

/** Raised when a service that was ready ends on its own: carries its log tail. */
export class ServiceExitError extends Error {
  constructor(public readonly service: string, public readonly reason: string, public readonly logTail: string) {
    super(`service '${service}' stopped: ${reason}\n--- last lines of its log ---\n${logTail}`);
    this.name = 'ServiceExitError';
  }
}

/** The package's own `bin/cdk-mlops`, run with this Node. */
export function defaultRuntimeCommand(): string[] {
  return [process.execPath, path.resolve(__dirname, '..', '..', 'bin', 'cdk-mlops')];
}

/** A short id for this run (Redis key prefix, request ids). */
function newRunId(): string {
  return `${Date.now().toString(36)}${crypto.randomBytes(3).toString('hex')}`;
}

/** Whether a Redis answers PING at `url` within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  const { default: Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Deletes the keys an `up` run wrote under its prefix in Redis. */
async function dropRedisPrefix(url: string, runId: string): Promise<number> {
  const { default: Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  let deleted = 0;
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `*up-${runId}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // best effort: the keys carry this run's prefix and harm nobody
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** The next time after `from` matching a cron schedule (UTC), searched minute by minute within a year. */
export function nextCronTime(expression: string, from: number): number | undefined {
  const s = parseCron(expression);
  let t = Math.floor(from / 60_000) * 60_000 + 60_000;
  const end = from + 366 * 86_400_000;
  while (t < end) {
    const d = new Date(t);
    const dayOk = s.anyDayOfMonth || s.anyDayOfWeek
      ? s.daysOfMonth.has(d.getUTCDate()) && s.daysOfWeek.has(d.getUTCDay())
      : s.daysOfMonth.has(d.getUTCDate()) || s.daysOfWeek.has(d.getUTCDay());
    if (!s.months.has(d.getUTCMonth() + 1) || !dayOk) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (!s.hours.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (s.minutes.has(d.getUTCMinutes())) return t;
    t += 60_000;
  }
  return undefined;
}

/** sha256 of a run key, as recorded in `<state>/jobs.json`. */
function keyHash(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

/** Stable text of a workload's configuration and arguments: two workloads with the same key run the same thing. */
function runKey(w: RuntimeWorkload): string {
  return JSON.stringify([w.role, w.args, w.config ?? null]);
}

/**
 * One environment of a platform program running on this machine: its runtime workloads as real
 * processes on loopback, with the embedded defaults (see `localize.ts`).
 */
export class LocalPlatform {
  public readonly runId = newRunId();
  public readonly supervisor: Supervisor;
  public readonly inbox: AlertInbox;
  public readonly program: PlatformProgram;
  /** The synthesized environment. */
  public env!: EnvironmentWorkloads;
  /** Every synthesized environment (the first synthesis). */
  public synthesized!: readonly PlatformSynthesis[];
  /** Pins the program read. */
  public pins: readonly PinLookup[] = [];
  /** Pins files replaced for later syntheses (absolute path -> text). */
  public readonly pinsOverrides = new Map<string, string>();
  /** Workloads ready to run, by id. */
  public readonly locals = new Map<string, LocalWorkload>();
  /** Jobs run by this `up`, in order. */
  public readonly jobs: JobRun[] = [];
  /** Running services by workload id. */
  public readonly services = new Map<string, Supervised>();
  private readonly lock: UpLock;
  private readonly ports = new Map<string, Map<number, number>>();
  private redisUrl?: string;
  private noRedisReason?: string;
  private alertWebhook?: string;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly serviceWatch = new Map<string, Promise<void>>();
  private failure?: (e: Error) => void;
  /** A service that ended while it should have been running. */
  public readonly crashed: Promise<Error>;

  constructor(public readonly o: UpOptions) {
    this.lock = new UpLock(path.join(o.stateDir, 'up.lock'));
    this.supervisor = new Supervisor(path.join(o.stateDir, 'logs'), 10_000);
    this.inbox = new AlertInbox(path.join(o.stateDir, 'alerts'));
    this.program = new PlatformProgram(o.appFile, path.join(o.stateDir, 'dist'));
    this.crashed = new Promise<Error>((resolve) => { this.failure = resolve; });
  }

  private get status(): StatusView {
    return this.o.status;
  }

  /** The runtime command prefix. */
  private get runtime(): readonly string[] {
    return this.o.runtimeCommand ?? defaultRuntimeCommand();
  }

  /**
   * Takes the directory's lock (a second `up` is refused with a message), clears the state when
   * `fresh`, starts the alert inbox, probes Redis, synthesizes the program and prepares every
   * workload's local configuration.
   */
  public async open(): Promise<void> {
    fs.mkdirSync(this.o.stateDir, { recursive: true });
    this.lock.acquire();
    // The state directory is up's alone: starting over deletes in it, so a directory with other
    // files (the repository, a dist/ folder) is refused.
    const marker = path.join(this.o.stateDir, STATE_MARKER);
    if (!fs.existsSync(marker)) {
      const others = fs.readdirSync(this.o.stateDir).filter((e) => e !== 'up.lock').sort();
      if (others.length) {
        throw new Error(`the state directory ${this.o.stateDir} holds files cdk-mlops up did not create (${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}); give --state an empty or new directory`);
      }
      fs.writeFileSync(marker, 'The state directory of `cdk-mlops up` (registry, logs, reports, configurations); safe to delete when up is not running.\n');
    }
    if (this.o.fresh) {
      for (const part of STATE_PARTS) fs.rmSync(path.join(this.o.stateDir, part), { recursive: true, force: true });
    }
    fs.mkdirSync(path.join(this.o.stateDir, 'logs'), { recursive: true });
    this.alertWebhook = await this.inbox.start();
    const redis = this.o.redisUrl === undefined ? 'redis://127.0.0.1:6379' : this.o.redisUrl;
    this.redisUrl = redis && await redisAnswers(redis) ? redis : undefined;
    this.noRedisReason = redis ? `Redis at ${redis.replace(/^redis:\/\//, '')} does not answer` : 'no Redis (--no-redis)';

    const started = Date.now();
    this.status.set('synth', { state: 'running', event: `synthesizing ${path.basename(this.o.appFile)}` });
    const s = this.program.synth(this.pinsOverrides);
    this.synthesized = s.results;
    this.pins = s.pins;
    const chosen = chooseEnvironment(s.results, this.o.environment);
    this.env = discoverWorkloads(chosen);
    this.status.set('synth', {
      state: 'done',
      event: `environment '${chosen.environment}': ${this.env.workloads.length} runtime workload(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    });
    for (const sk of this.env.skipped) this.status.note(`  not run locally: ${sk.id}: ${sk.reason}`);
    await this.prepare(this.env);
  }

  /** Allocates ports for the servers of `env` (keeping those already given) and localizes every workload. */
  private async prepare(env: EnvironmentWorkloads): Promise<Map<string, LocalWorkload>> {
    for (const w of env.workloads) {
      if (!isServer(w) || this.ports.has(w.id)) continue;
      const m = new Map<number, number>();
      for (const p of w.ports) m.set(p.port, await freePort());
      this.ports.set(w.id, m);
    }
    const settings: LocalSettings = {
      stateDir: this.o.stateDir,
      runId: this.runId,
      redisUrl: this.redisUrl,
      noRedisReason: this.noRedisReason,
      alertWebhook: this.alertWebhook,
      ports: this.ports,
      workloads: env.workloads,
      services: env.services,
    };
    const out = new Map<string, LocalWorkload>();
    for (const w of env.workloads) out.set(w.id, localizeWorkload(w, settings));
    return out;
  }

  /** Local workloads of a role. */
  public byRole(role: RuntimeWorkload['role']): LocalWorkload[] {
    return [...this.locals.values()].filter((l) => l.workload.role === role);
  }

  /**
   * Runs the environment: feature materialization, training (Jobs, and CronJob templates that
   * no Job runs), then the feature servers, the model servers and continuous monitors (each
   * waited for until ready). A failure stops everything started so far.
   */
  public async start(): Promise<void> {
    const prepared = await this.prepare(this.env);
    for (const [id, l] of prepared) this.locals.set(id, l);
    for (const l of this.locals.values()) {
      for (const n of l.notes) this.status.note(`  ${l.workload.id}: ${n}`);
    }
    try {
      for (const l of this.locals.values()) {
        for (const input of l.inputs) {
          const from = seedInput(input, this.o.seedDirs);
          if (from !== 'present') this.status.note(`  ${input.what}: ${input.uri} <- ${from}`);
        }
      }
      for (const l of this.initialJobs('features-materialize')) await this.runJob(l, 'materialize the online store');
      for (const l of this.initialJobs('train')) await this.runJob(l, 'train');
      for (const role of ['features-serve', 'serve', 'monitor'] as const) {
        for (const l of this.byRole(role)) {
          if (isServer(l.workload)) await this.startService(l);
        }
      }
      for (const l of this.locals.values()) {
        if (l.workload.role === 'other') this.status.set(l.workload.id, { state: 'skipped', event: `runs '${l.workload.args.join(' ')}', which up does not run` });
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /**
   * Jobs of a role to run at start: every Job, and every CronJob whose template no Job runs
   * (identical arguments and configuration), so that a suspended retraining template whose
   * Job already ran is not run twice. Materialization needs Redis: with the in-process store
   * the feature server loads the offline features itself.
   */
  private initialJobs(role: 'train' | 'features-materialize'): LocalWorkload[] {
    const all = this.byRole(role);
    if (role === 'features-materialize' && !this.redisUrl) {
      for (const l of all) this.status.set(l.workload.id, { state: 'skipped', event: 'online store in process: the feature server materializes at start' });
      return [];
    }
    const jobKeys = new Set(all.filter((l) => l.workload.kind === 'Job').map((l) => runKey(l.workload)));
    const chosen: LocalWorkload[] = [];
    const seen = new Set<string>();
    for (const l of all) {
      const key = runKey(l.workload);
      if (l.workload.kind === 'CronJob' && jobKeys.has(key)) {
        this.status.set(l.workload.id, { state: 'pending', event: l.workload.schedule?.suspended ? 'template: runs when retraining is triggered' : `schedule ${l.workload.schedule?.cron}` });
        continue;
      }
      if (seen.has(key)) continue;
      seen.add(key);
      // As in a cluster, a training run that completed is not run again for the same
      // configuration (materialization is: each `up` writes the online store under its own prefix).
      const earlier = role === 'train' ? this.completedRuns().find((r) => r.id === l.workload.id && r.key === keyHash(key)) : undefined;
      if (earlier) {
        this.status.set(l.workload.id, { state: 'done', event: `completed at ${earlier.at} (same configuration; --fresh to start over)` });
        continue;
      }
      chosen.push(l);
    }
    return chosen;
  }

  /** Successful job runs recorded in the state directory (this `up` and earlier ones). */
  private completedRuns(): { id: string; key?: string; at: string }[] {
    try {
      const doc = JSON.parse(fs.readFileSync(path.join(this.o.stateDir, 'jobs.json'), 'utf8')) as { runs: { id: string; key?: string; at: string; exitCode: number | null; role: string }[] };
      return doc.runs.filter((r) => r.exitCode === 0 || (r.role === 'train' && r.exitCode === 3));
    } catch {
      return [];
    }
  }

  /** Runs a Job (or a CronJob's template) to completion. Exit 3 of `train` (gate failed) is not a failure. */
  public async runJob(l: LocalWorkload, reason: string): Promise<JobRun> {
    this.assertRunning();
    const id = l.workload.id;
    const name = fileNameOf(id);
    fs.rmSync(path.join(this.o.stateDir, 'logs', `${name}.log`), { force: true });
    this.status.set(id, { state: 'running', event: reason, logFile: path.join(this.o.stateDir, 'logs', `${name}.log`) });
    const started = Date.now();
    // An external trainer's command is the user's: it runs beside the program (its scripts
    // are found as they are in the repository), everything else in its own work directory.
    const external = (l.config?.external as { command?: unknown } | undefined)?.command !== undefined;
    const r = await this.supervisor.runToEnd({
      name,
      command: this.runtime[0],
      args: [...this.runtime.slice(1), ...l.args],
      env: l.env,
      cwd: external ? path.dirname(path.resolve(this.o.appFile)) : path.join(this.o.stateDir, 'work', name),
      timeoutMs: this.o.jobTimeoutMs ?? 600_000,
    });
    const run: JobRun = { id, role: l.workload.role, reason, exitCode: r.code, logFile: r.logFile, durationMs: Date.now() - started };
    this.jobs.push(run);
    const okGate = l.workload.role === 'train' && r.code === 3;
    if (r.code !== 0 && !okGate) {
      this.status.set(id, { state: 'failed', event: `exit ${r.code}` });
      if (this.stopped) throw new Error(`${id} was stopped`);
      throw new ServiceStartError(id, `exited with ${r.code} (log: ${r.logFile})`, r.tail);
    }
    this.status.set(id, { state: 'done', event: okGate ? 'registered; quality gate failed, not promoted (exit 3)' : `${lastLogEvent(r.logFile) ?? 'done'} (${(run.durationMs / 1000).toFixed(1)} s)` });
    this.recordJob({ ...run, key: keyHash(runKey(l.workload)) });
    return run;
  }

  private recordJob(run: JobRun & { key: string }): void {
    const file = path.join(this.o.stateDir, 'jobs.json');
    let doc: { runs: unknown[] } = { runs: [] };
    try {
      doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { runs: unknown[] };
    } catch {
      // first run
    }
    doc.runs.push({ ...run, at: new Date().toISOString() });
    writeJsonAtomic(file, doc);
  }

  /** Starts a server and waits until it is ready; a failure carries its log tail. */
  public async startService(l: LocalWorkload): Promise<Supervised> {
    this.assertRunning();
    const id = l.workload.id;
    const name = fileNameOf(id);
    const logFile = path.join(this.o.stateDir, 'logs', `${name}.log`);
    fs.rmSync(logFile, { force: true });
    this.status.set(id, { state: 'starting', url: l.url, logFile });
    let s: Supervised;
    try {
      s = await this.supervisor.start({
        name,
        command: this.runtime[0],
        args: [...this.runtime.slice(1), ...l.args],
        env: l.env,
        cwd: path.join(this.o.stateDir, 'work', name),
        ready: l.readyUrl ? { url: l.readyUrl, timeoutMs: this.o.readyTimeoutMs ?? 60_000 } : undefined,
      });
    } catch (e) {
      if (!(e instanceof ServiceStartError)) throw e;
      this.status.set(id, { state: 'failed', event: e.reason });
      throw new ServiceStartError(id, `${e.reason} (log: ${logFile})`, e.logTail);
    }
    this.services.set(id, s);
    this.status.set(id, { state: 'ready', url: l.url, event: describeService(l) });
    const watch = s.exited.then((e) => {
      if (this.services.get(id) !== s) return;
      this.services.delete(id);
      if (this.stopped) return;
      this.status.set(id, { state: 'exited', event: `exited with ${e.code ?? e.signal}` });
      this.failure?.(new ServiceExitError(id, `exited with ${e.code ?? e.signal} while running (log: ${s.logFile})`, tailFile(s.logFile)));
    });
    this.serviceWatch.set(id, watch);
    return s;
  }

  /** Nothing starts once `stop` began (a step still running when Ctrl-C came must not start processes). */
  private assertRunning(): void {
    if (this.stopped) throw new Error('cdk-mlops up is stopping: nothing more is started');
  }

  /** Stops one running service (SIGTERM, then SIGKILL after the grace period). */
  private async stopService(id: string): Promise<void> {
    const s = this.services.get(id);
    if (!s) return;
    this.services.delete(id);
    await this.supervisor.stopOne(s);
    this.status.set(id, { state: 'stopped' });
  }

  /** Runs a monitor CronJob once; returns its result (the report directory's latest.json). */
  public async runMonitor(l: LocalWorkload, reason: string): Promise<{ result: MonitorResult; json: string; html?: string }> {
    if (l.workload.role !== 'monitor' || !l.reportDir) throw new Error(`${l.workload.id} is not a monitor`);
    // A continuous monitor (a Deployment) runs once beside itself, with the same configuration.
    const once = isServer(l.workload)
      ? { ...l, args: [...l.args.filter((a) => a !== '--continuous'), '--once'], workload: { ...l.workload, id: `${l.workload.id}#once` } }
      : l;
    await this.runJob(once, reason);
    const latest = path.join(l.reportDir, 'latest.json');
    const result = JSON.parse(fs.readFileSync(latest, 'utf8')) as MonitorResult;
    // The monitor's timestamped reports have a resolution of one second: two runs within a
    // second share a name. Each run's result and report are kept under a number of their own.
    const runs = path.join(path.dirname(l.reportDir), 'runs');
    fs.mkdirSync(runs, { recursive: true });
    const n = String(fs.readdirSync(runs).filter((f) => f.endsWith('.json')).length + 1).padStart(3, '0');
    const json = path.join(runs, `run-${n}.json`);
    fs.copyFileSync(latest, json);
    const latestHtml = path.join(l.reportDir, 'latest.html');
    const html = fs.existsSync(latestHtml) ? path.join(runs, `run-${n}.html`) : undefined;
    if (html) fs.copyFileSync(latestHtml, html);
    return { result, json, html };
  }

  /** The CronJob `namespace/name` as a local workload (a retraining template). */
  public cronJob(namespace: string, name: string): LocalWorkload {
    const l = this.locals.get(`CronJob/${namespace}/${name}`);
    if (!l) throw new Error(`the retraining CronJob ${namespace}/${name} is not part of environment '${this.env.environment}'`);
    return l;
  }

  /**
   * Synthesizes the program again (with `pinsOverrides`) and applies the difference, the way a
   * GitOps sync would: serving configurations whose model list changed are rewritten in place
   * (the servers hot-reload them), other changed servers restart, new Jobs run, new servers
   * start, removed ones stop, monitors get their new configuration for their next run.
   */
  public async resync(reason: string): Promise<SyncChange[]> {
    this.status.set('synth', { state: 'running', event: reason });
    const s = this.program.synth(this.pinsOverrides);
    const env = discoverWorkloads(chooseEnvironment(s.results, this.env.environment));
    this.pins = s.pins;
    const changes: SyncChange[] = [];
    const oldEnv = this.env;
    const before = new Map(oldEnv.workloads.map((w) => [w.id, w]));
    this.env = env;
    const prepared = await this.prepare(env);
    for (const [id, l] of prepared) {
      const old = before.get(id);
      this.locals.set(id, l);
      if (old && runKey(old) === runKey(l.workload)) continue;
      if (isServer(l.workload)) {
        const running = this.services.has(id);
        if (running && old && l.workload.role === 'serve' && sameExceptModels(old.config, l.workload.config)) {
          changes.push({ id, action: 'reloaded', detail: describeService(l) });
          this.status.set(id, { event: `reloading: ${describeService(l)}` });
        } else {
          if (running) await this.stopService(id);
          await this.startService(l);
          changes.push({ id, action: running ? 'restarted' : 'started' });
        }
      } else if (l.workload.kind === 'Job' && !old) {
        await this.runJob(l, 'new Job');
        changes.push({ id, action: 'ran' });
      } else {
        changes.push({ id, action: 'updated' });
      }
    }
    for (const id of before.keys()) {
      if (prepared.has(id)) continue;
      this.locals.delete(id);
      if (this.services.has(id)) {
        await this.stopService(id);
        changes.push({ id, action: 'stopped' });
      }
    }
    this.status.set('synth', { state: 'done', event: `${reason}: ${changes.length ? changes.map((c) => `${c.id} ${c.action}`).join(', ') : 'nothing changed'}` });
    return changes;
  }

  /** Runs `fn` every time the cron schedule comes (UTC), or every `everyMs` when given, until stopped. */
  public schedule(expression: string | undefined, everyMs: number | undefined, fn: () => Promise<void>): void {
    const next = (): number | undefined => {
      if (everyMs !== undefined) return everyMs;
      if (!expression) return undefined;
      const t = nextCronTime(expression, Date.now());
      return t === undefined ? undefined : t - Date.now();
    };
    const arm = () => {
      if (this.stopped) return;
      const delay = next();
      if (delay === undefined) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        fn().then(arm, (e: Error) => this.failure?.(e));
      }, Math.min(delay, 2 ** 31 - 1));
      this.timers.add(timer);
    };
    arm();
  }

  /**
   * Stops everything: timers, every child process (SIGTERM, then SIGKILL after the grace
   * period), the alert inbox, this run's Redis keys, and releases the lock. Idempotent.
   */
  public async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const running = [...this.services.keys()];
    await this.supervisor.stopAll();
    for (const id of running) this.status.set(id, { state: 'stopped' });
    this.services.clear();
    await Promise.all(this.serviceWatch.values());
    await this.inbox.stop();
    if (this.redisUrl) await dropRedisPrefix(this.redisUrl, this.runId);
    this.lock.release();
  }
}

/** Whether a workload is a long-running server (a Deployment, Rollout or StatefulSet). */
export function isServer(w: RuntimeWorkload): boolean {
  return w.kind === 'Deployment' || w.kind === 'Rollout' || w.kind === 'StatefulSet';
}

function sameExceptModels(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  const { models: _a, ...ra } = a ?? {};
  const { models: _b, ...rb } = b ?? {};
  return JSON.stringify(ra) === JSON.stringify(rb);
}

/** What a server does, in a few words. */
export function describeService(l: LocalWorkload): string {
  const c = l.config ?? {};
  if (l.workload.role === 'serve' && Array.isArray(c.models)) {
    return (c.models as { name: string; ref: unknown; variant?: string }[]).map((m) => `${m.name}@${String(m.ref)}${m.variant && m.variant !== 'primary' ? ` (${m.variant})` : ''}`).join(', ');
  }
  if (l.workload.role === 'features-serve') return `feature server (${String((c.onlineStore as { type?: string } | undefined)?.type)})`;
  if (l.workload.role === 'monitor') return `monitor of ${String(c.model)}@${String(c.version)}`;
  return l.workload.args.join(' ');
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveApp } from './synth';
import { parseDuration } from '../../runtime/config/monitor';
import type { LocalPlatform } from '../../up/local-platform';
import type { UpSummary } from '../../up/loop';
import { StatusView } from '../../up/status';

/** One-line description for `cdk-mlops --help`. */
export const summary = 'run the platform program locally: train, serve, monitor, retrain (--once: the whole loop, then a summary)';

const USAGE = `usage: cdk-mlops up [--app <file>] [--env <name>] [--state <dir>] [--data <dir>] [--once [--json]]

Synthesizes the platform program and runs the runtime workloads of one environment on this
machine as real processes on 127.0.0.1, with the embedded defaults: the registry, prediction
logs, offline features and monitor reports under <state>/s3/<bucket>/..., the online store in
the local Redis (a key prefix per run; in process when Redis does not answer), alerts in a local
inbox (<state>/alerts), retraining triggers as local records. In order: feature materialization,
training (Jobs; CronJob templates that no Job runs; not again when a run with the same
configuration completed in an earlier 'up'), feature servers, model servers, monitors.

  --app <file>            the program          default: "app" of cdk-mlops.json, else src/main.ts
  --env <name>            the environment      default: dev, else the first
  --state <dir>           local state          default: .cdk-mlops/up
  --data <dir>            where the data files the program reads from S3 are found, as
                          <dir>/<key> or <dir>/<file name> (repeatable)
                                               default: data/ beside the program, and ./data
  --once                  run the whole loop once from an empty state and exit: replay rows of
                          the data set, shifted rows, monitor (drift, alert, retraining), the
                          retraining, promote the pinned version (on a working copy of the pins
                          file), check the new version serves; exit 0 when every step passed
  --json                  with --once: print the summary as JSON
  --rows <n>              with --once: rows per traffic phase (default 200)
  --shift <k>             with --once: shift of the drifted phase, in standard deviations (default 1.5)
  --monitor-every <d>     without --once: run scheduled monitors every <d> (30s, 5m) instead of their schedule
  --fresh                 start from an empty state (registry, logs, reports...); --once always does
  --no-redis              keep the online store in process even when Redis answers
  -h, --help

Ctrl-C (SIGINT) or SIGTERM stops every process and releases the directory; a second one kills
them at once. One 'up' per state directory: a second is refused while the first runs.
exit status: 0 ok; 1 a service or step failed (its log tail is printed); 2 usage error; 130 interrupted (--once).`;

class UsageError extends Error {}

interface Parsed {
  appFile: string;
  environment?: string;
  stateDir: string;
  seedDirs: string[];
  once: boolean;
  json: boolean;
  rows: number;
  shift: number;
  monitorEveryMs?: number;
  redis: boolean;
  fresh: boolean;
}

function parse(argv: string[], cwd: string): Parsed | 'help' {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        'app': { type: 'string' },
        'env': { type: 'string' },
        'state': { type: 'string' },
        'data': { type: 'string', multiple: true },
        'once': { type: 'boolean' },
        'json': { type: 'boolean' },
        'rows': { type: 'string' },
        'shift': { type: 'string' },
        'monitor-every': { type: 'string' },
        'no-redis': { type: 'boolean' },
        'fresh': { type: 'boolean' },
        'help': { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';
  const appFile = resolveApp(cwd, values.app);
  if (!fs.existsSync(appFile)) throw new UsageError(`the platform program '${appFile}' does not exist (pass --app <file>)`);
  const rows = values.rows === undefined ? 200 : Number(values.rows);
  if (!Number.isInteger(rows) || rows < 30 || rows > 100_000) throw new UsageError(`--rows expects a whole number from 30 to 100000 (the monitor tests columns with at least 30 values), got ${JSON.stringify(values.rows)}`);
  const shift = values.shift === undefined ? 1.5 : Number(values.shift);
  if (!Number.isFinite(shift) || shift <= 0) throw new UsageError(`--shift expects a number of standard deviations > 0, got ${JSON.stringify(values.shift)}`);
  let monitorEveryMs: number | undefined;
  if (values['monitor-every'] !== undefined) {
    try {
      monitorEveryMs = parseDuration(values['monitor-every']);
    } catch (e) {
      throw new UsageError(`--monitor-every: ${(e as Error).message}`);
    }
    if (monitorEveryMs < 1000) throw new UsageError(`--monitor-every expects at least 1s, got ${values['monitor-every']}`);
  }
  if (values.json && !values.once) throw new UsageError('--json goes with --once (the summary); without --once, up shows a live status');
  const seedDirs = values.data?.length
    ? values.data.map((d) => path.resolve(cwd, d))
    : [path.join(path.dirname(appFile), 'data'), path.join(cwd, 'data')].filter((d, i, a) => a.indexOf(d) === i && fs.existsSync(d));
  for (const d of seedDirs) if (!fs.existsSync(d)) throw new UsageError(`--data '${d}' does not exist`);
  return {
    appFile,
    environment: values.env,
    stateDir: path.resolve(cwd, values.state ?? path.join('.cdk-mlops', 'up')),
    seedDirs,
    once: Boolean(values.once),
    json: Boolean(values.json),
    rows,
    shift,
    monitorEveryMs,
    redis: !values['no-redis'],
    fresh: Boolean(values.once || values.fresh),
  };
}

/** Text form of the `--once` summary. */
export function formatSummary(s: UpSummary, cwd = process.cwd()): string {
  const rel = (p: string) => (path.relative(cwd, p).startsWith('..') ? p : path.relative(cwd, p) || p);
  const lines: string[] = [];
  lines.push(`cdk-mlops up --once: ${s.ok ? 'the loop ran' : 'the loop FAILED'} in ${(s.durationMs / 1000).toFixed(1)} s (environment '${s.environment}' of ${rel(s.program)})`);
  for (const st of s.steps) lines.push(`  ${st.ok ? 'ok    ' : 'FAILED'} ${st.name.padEnd(30)} ${(st.ms / 1000).toFixed(1).padStart(5)} s  ${st.ok ? st.detail ?? '' : st.error ?? ''}`);
  if (s.endpoint) lines.push(`endpoint    ${s.endpoint.infer}  (serving ${s.endpoint.model}@${s.endpoint.servedVersion ?? '?'}${s.endpoint.tokensFile ? `; bearer token in ${rel(s.endpoint.tokensFile)}` : ''})`);
  if (s.monitor.length) {
    lines.push(`drift       ${s.monitor.map((m) => `${m.phase}: ${m.datasetDrift ? 'DRIFT' : 'no drift'} (${m.driftedFeatures}/${m.testedFeatures} features, prediction drift ${m.predictionDrift ? 'yes' : 'no'})`).join('; ')}`);
  }
  if (s.alerts.length) lines.push(`alerts      ${s.alerts.length} recorded in ${rel(path.dirname(s.alerts[0].file))}`);
  if (s.retraining) lines.push(`retraining  ${rel(s.retraining.record)} -> ${s.retraining.cronJob}: ${s.retraining.version !== undefined ? `v${s.retraining.version}, gate ${s.retraining.gate?.passed ? 'passed' : 'failed'}` : `exit ${s.retraining.exitCode}`}`);
  if (s.promotion) lines.push(`promotion   ${rel(s.promotion.pinsFile)} models.${s.promotion.change.model}.${s.promotion.change.target} ${s.promotion.change.from} -> ${s.promotion.change.to} (working copy ${rel(s.promotion.workingCopy)}; to keep it: ${s.promotion.command})`);
  if (s.registry) {
    const versions = s.registry.versions.map((v) => {
      const metric = v.metrics.roc_auc !== undefined ? `roc_auc ${v.metrics.roc_auc.toFixed(3)}` : v.metrics.rmse !== undefined ? `rmse ${v.metrics.rmse.toFixed(3)}` : '';
      return `v${v.version} (${metric}${v.gate ? `, gate ${v.gate.passed ? 'passed' : 'failed'}${v.gate.comparedWith ? ` vs v${v.gate.comparedWith}` : ''}` : ''})`;
    });
    const aliases = Object.entries(s.registry.aliases).map(([a, v]) => `${a} -> v${v}`).join(', ');
    lines.push(`registry    ${s.registry.model}: ${versions.join(', ')}${aliases ? `; ${aliases}` : ''}  [${rel(s.registry.uri.replace(/^file:\/\//, ''))}]`);
  }
  if (s.metrics) {
    const requests = s.metrics.serve.filter((m) => m.name === 'cdk_mlops_serve_requests_total');
    const byVersion = new Map<string, number>();
    for (const m of requests) byVersion.set(`v${m.labels.version} ${m.labels.code}`, (byVersion.get(`v${m.labels.version} ${m.labels.code}`) ?? 0) + m.value);
    const count = s.metrics.serve.filter((m) => m.name === 'cdk_mlops_serve_request_duration_seconds_count').reduce((a, m) => a + m.value, 0);
    const sum = s.metrics.serve.filter((m) => m.name === 'cdk_mlops_serve_request_duration_seconds_sum').reduce((a, m) => a + m.value, 0);
    lines.push(`metrics     requests ${[...byVersion].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'}; mean latency ${count ? ((sum / count) * 1000).toFixed(2) : '-'} ms${s.metrics.monitorFile ? `; monitor metrics in ${rel(s.metrics.monitorFile)}` : ''}`);
  }
  if (s.report) lines.push(`report      ${rel(s.report)}`);
  for (const n of s.notes) lines.push(`note        ${n}`);
  return lines.join('\n');
}

/** `cdk-mlops up`. */
export async function run(argv: string[]): Promise<number> {
  const cwd = process.cwd();
  let o: Parsed | 'help';
  try {
    o = parse(argv, cwd);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`cdk-mlops up: ${e.message}\n\nRun 'cdk-mlops up --help' for the options.\n`);
      return 2;
    }
    throw e;
  }
  if (o === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // Loaded here: --help and usage errors answer without the construct library.
  const { LocalPlatform: Platform } = await import('../../up/local-platform');
  const { runLoop } = await import('../../up/loop');
  const status = new StatusView({ stream: process.stderr });
  const started = Date.now();
  const platform: LocalPlatform = new Platform({
    appFile: o.appFile,
    environment: o.environment,
    stateDir: o.stateDir,
    seedDirs: o.seedDirs,
    status,
    fresh: o.fresh,
    redisUrl: o.redis ? undefined : null,
  });

  let signals = 0;
  let interrupted = false;
  let resolveInterrupt: () => void = () => undefined;
  const interruptedP = new Promise<void>((r) => { resolveInterrupt = r; });
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    interrupted = true;
    if (signals > 1) {
      status.note(`${signal} again: killing every process now`);
      platform.supervisor.killAll();
      process.exit(1);
    }
    status.note(`${signal}: stopping every process (again to kill them at once)`);
    resolveInterrupt();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // A reader that goes away (`up ... | head`) must not crash up and leave its children running:
  // output to a closed pipe is dropped.
  const onPipeError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  };
  process.stdout.on('error', onPipeError);
  process.stderr.on('error', onPipeError);
  // Last resort, whatever ends this process: no child outlives it.
  const onExit = () => platform.supervisor.killAll();
  process.on('exit', onExit);
  const cleanup = async () => {
    await platform.stop();
    status.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', onExit);
  };

  try {
    const opened = platform.open().then(() => platform.start());
    await Promise.race([opened, interruptedP]);
    if (interrupted) {
      await opened.catch(() => undefined);
      await cleanup();
      return o.once ? 130 : 0;
    }
  } catch (e) {
    await cleanup();
    process.stderr.write(`cdk-mlops up: ${(e as Error).message}\n`);
    return 1;
  }

  for (const l of platform.locals.values()) {
    if (!platform.services.has(l.workload.id)) continue;
    status.note(`${l.workload.id.padEnd(40)} ${l.url}${l.workload.role === 'serve' ? `/v2/models/...  (${l.token ? `bearer token in ${path.relative(cwd, String((l.config?.auth as { tokensFile?: string }).tokensFile))}` : 'no auth'})` : ''}`);
  }

  if (o.once) {
    const loop = runLoop(platform, { rows: o.rows, shift: o.shift }, started);
    const outcome = await Promise.race([loop, interruptedP.then(() => 'interrupted' as const), platform.crashed]);
    if (outcome === 'interrupted' || outcome instanceof Error) {
      await cleanup();
      if (outcome instanceof Error) {
        process.stderr.write(`cdk-mlops up: ${outcome.message}\n`);
        return 1;
      }
      return 130;
    }
    await cleanup();
    fs.writeFileSync(path.join(o.stateDir, 'summary.json'), `${JSON.stringify(outcome, null, 2)}\n`);
    process.stdout.write(o.json ? `${JSON.stringify(outcome, null, 2)}\n` : `${formatSummary(outcome, cwd)}\n`);
    return outcome.ok ? 0 : 1;
  }

  // Continuous: scheduled CronJobs, retraining when a monitor asks for it, resync when a pins file changes.
  scheduleCronJobs(platform, o.monitorEveryMs);
  const watched = watchPins(platform);
  status.note('Running. Ctrl-C stops everything.');
  const outcome = await Promise.race([interruptedP.then(() => undefined), platform.crashed]);
  for (const unwatch of watched) unwatch();
  await cleanup();
  if (outcome instanceof Error) {
    process.stderr.write(`cdk-mlops up: ${outcome.message}\n`);
    return 1;
  }
  return 0;
}

/** Runs every scheduled CronJob on its schedule (monitors every `monitorEveryMs` when given); a monitor's retraining trigger runs its CronJob. */
function scheduleCronJobs(platform: LocalPlatform, monitorEveryMs: number | undefined): void {
  for (const l of platform.locals.values()) {
    const w = l.workload;
    if (w.kind !== 'CronJob' || w.role === 'other') continue;
    if (w.role === 'monitor') {
      platform.schedule(w.schedule?.cron, monitorEveryMs, async () => {
        const current = platform.locals.get(w.id) ?? l;
        const r = await platform.runMonitor(current, 'scheduled monitor run');
        const retrain = r.result.actions.retrain;
        if (retrain.outcome === 'triggered' && current.retrain) {
          platform.o.status.note(`${w.id}: ${retrain.reason}; retraining from CronJob ${current.retrain.namespace}/${current.retrain.cronJob}`);
          await platform.runJob(platform.cronJob(current.retrain.namespace, current.retrain.cronJob), `retraining triggered by ${path.basename(retrain.target ?? '')}`);
          platform.o.status.note('retrained: promote the new version with `cdk-mlops promote` (up follows the pins file) when the endpoint pins a version');
        }
      });
    } else if (w.schedule && !w.schedule.suspended) {
      platform.schedule(w.schedule.cron, undefined, async () => {
        await platform.runJob(platform.locals.get(w.id) ?? l, `schedule ${w.schedule!.cron}`);
      });
    }
  }
}

/** Synthesizes again when a pins file the program read changes (a `cdk-mlops promote`), so that servers follow. */
function watchPins(platform: LocalPlatform): (() => void)[] {
  const files = [...new Set(platform.pins.map((p) => p.file))];
  let chain = Promise.resolve();
  return files.map((file) => {
    const onChange = (curr: fs.Stats, prev: fs.Stats) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
      chain = chain.then(async () => {
        try {
          await platform.resync(`${path.basename(file)} changed`);
        } catch (e) {
          platform.o.status.note(`${file} changed, but the program did not synthesize: ${(e as Error).message}`);
        }
      });
    };
    fs.watchFile(file, { interval: 1000, persistent: false }, onChange);
    return () => fs.unwatchFile(file, onChange);
  });
}

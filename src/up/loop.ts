import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LocalPlatform } from './local-platform';
import type { LocalWorkload } from './localize';
import { writeJsonAtomic } from './localize';
import { columnStd, loadFeatureRows, replay, Replay, sampleRows, shiftRows, TrafficTarget } from './traffic';
import { promotePins, PinChange } from '../promote/pins';
import type { MonitorResult } from '../runtime/monitor/result';
import { openRegistry } from '../runtime/registry/registry';
import type { ModelManifest } from '../runtime/registry/types';

/**
 * The whole loop, once (`cdk-mlops up --once`): with the environment started (features
 * materialized, v1 trained and made champion, the endpoint serving), replay real rows of the data
 * set, run the monitor (no drift expected), replay shifted rows, run the monitor again (drift,
 * alert, retraining triggered), run the retraining (v2 trained, gated against the champion,
 * registered), promote the pin the endpoint was synthesized from (as `cdk-mlops promote` edits
 * it, on a working copy), synthesize again and let the server hot-reload, check that v2 answers,
 * and summarize. Every step is recorded; the first failing step ends the loop.
 */

/** Options of the loop. */
export interface LoopOptions {
  /** Rows per traffic phase. @default 200 */
  readonly rows?: number;
  /** Rows per request. @default 5 */
  readonly batch?: number;
  /** Shift of the drifted phase, in reference standard deviations per feature. @default 1.5 */
  readonly shift?: number;
  /** Seed of the row sample. @default 42 */
  readonly seed?: number;
  /** Longest wait for a hot reload or for prediction logs, in milliseconds. @default 30000 */
  readonly waitMs?: number;
}

/** One step of the loop. */
export interface LoopStep {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail?: string;
  readonly error?: string;
}

/** One monitor run, as the summary reports it. */
export interface MonitorRunSummary {
  readonly phase: string;
  readonly model: string;
  readonly version: number;
  readonly rows: number;
  readonly datasetDrift: boolean;
  readonly driftedFeatures: number;
  readonly testedFeatures: number;
  readonly driftShare: number;
  readonly predictionDrift: boolean;
  readonly conditions: Readonly<Record<string, boolean>>;
  readonly alerts: MonitorResult['actions']['alerts'];
  readonly retrain: MonitorResult['actions']['retrain'];
  /** The result JSON and HTML report of this run. */
  readonly json: string;
  readonly html?: string;
}

/** A registry version, as the summary reports it. */
export interface VersionSummary {
  readonly version: number;
  readonly createdAt: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly gate?: ModelManifest['gate'];
  readonly dataHash: string;
}

/** What `up --once` reports (printed as text, or as JSON with `--json`; written to `<state>/summary.json`). */
export interface UpSummary {
  readonly schema: 'cdk-mlops.up.summary/v1';
  readonly ok: boolean;
  readonly program: string;
  readonly environment: string;
  readonly stateDir: string;
  readonly durationMs: number;
  readonly steps: readonly LoopStep[];
  readonly services: readonly { readonly id: string; readonly role: string; readonly url?: string }[];
  readonly jobs: readonly { readonly id: string; readonly reason: string; readonly exitCode: number | null; readonly durationMs: number; readonly logFile: string }[];
  readonly endpoint?: { readonly id: string; readonly model: string; readonly url: string; readonly infer: string; readonly tokensFile?: string; readonly servedVersion?: number };
  readonly traffic: Readonly<Record<string, { readonly requests: number; readonly rows: number; readonly file: string; readonly versions: readonly string[] }>>;
  readonly monitor: readonly MonitorRunSummary[];
  readonly alerts: readonly { readonly file: string; readonly text?: string }[];
  readonly retraining?: { readonly record: string; readonly cronJob: string; readonly exitCode: number | null; readonly version?: number; readonly gate?: ModelManifest['gate'] };
  readonly promotion?: { readonly pinsFile: string; readonly workingCopy: string; readonly change: PinChange; readonly command: string; readonly reloaded: readonly string[] };
  readonly registry?: { readonly uri: string; readonly model: string; readonly versions: readonly VersionSummary[]; readonly aliases: Readonly<Record<string, number>> };
  readonly metrics?: { readonly serve: readonly MetricSample[]; readonly monitorFile?: string };
  readonly report?: string;
  /** Online lookups checked against the offline source, per feature server. */
  readonly features: readonly FeatureCheck[];
  readonly notes: readonly string[];
}

/** One feature server's lookup of a few entities, checked against the latest offline rows. */
export interface FeatureCheck {
  readonly id: string;
  readonly url: string;
  readonly view: string;
  readonly joinKey: string;
  readonly entities: readonly (number | string)[];
  /** Feature name -> served value per entity. */
  readonly values: Readonly<Record<string, readonly unknown[]>>;
}

/** One Prometheus sample. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus text exposition, keeping the samples whose name starts with one of `prefixes`. */
export function parsePrometheus(text: string, prefixes: readonly string[]): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || !prefixes.some((p) => m[1].startsWith(p))) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

const SERVE_METRICS = [
  'cdk_mlops_serve_requests_total', 'cdk_mlops_serve_request_duration_seconds_count', 'cdk_mlops_serve_request_duration_seconds_sum',
  'cdk_mlops_serve_model_ready', 'cdk_mlops_serve_reloads_total', 'cdk_mlops_serve_prediction_log_records_total',
];

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {};
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Waits until the endpoint reports `version`. */
async function waitServed(served: () => Promise<number | undefined>, version: number, waitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  while ((await served()) !== version) {
    if (Date.now() > deadline) throw new Error(`the endpoint did not serve ${what} within ${waitMs} ms`);
    await sleep(200);
  }
}

/** Counts prediction records whose id starts with `prefix` under a log root. */
function countLogged(root: string, model: string, prefix: string): number {
  let n = 0;
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'labels') walk(p);
      } else if (e.name.endsWith('.jsonl')) {
        for (const line of fs.readFileSync(p, 'utf8').split('\n')) {
          if (line.includes(`"id":"${prefix}`)) n++;
        }
      }
    }
  };
  walk(path.join(root, model));
  return n;
}

function summarizeMonitor(phase: string, r: { result: MonitorResult; json: string; html?: string }): MonitorRunSummary {
  const x = r.result;
  return {
    phase,
    model: x.model,
    version: x.version,
    rows: x.records.rows,
    datasetDrift: x.dataset.datasetDrift,
    driftedFeatures: x.dataset.drifted,
    testedFeatures: x.dataset.tested,
    driftShare: x.dataset.share,
    predictionDrift: x.prediction.drifted,
    conditions: x.conditions,
    alerts: x.actions.alerts,
    retrain: x.actions.retrain,
    json: r.json,
    html: r.html,
  };
}

/** Runs the loop on a started platform; never throws for a failing step (it is in the summary). */
export async function runLoop(p: LocalPlatform, o: LoopOptions = {}, started = Date.now()): Promise<UpSummary> {
  const rowsPerPhase = o.rows ?? 200;
  const batch = o.batch ?? 5;
  const shift = o.shift ?? 1.5;
  const seed = o.seed ?? 42;
  const waitMs = o.waitMs ?? 30_000;
  const steps: LoopStep[] = [];
  const notes: string[] = [];
  const traffic: Record<string, { requests: number; rows: number; file: string; versions: string[] }> = {};
  const monitorRuns: MonitorRunSummary[] = [];
  let retrainingSummary: UpSummary['retraining'];
  let promotion: UpSummary['promotion'];
  let failed = false;
  const step = async <T>(name: string, fn: () => Promise<T>, detail?: (t: T) => string): Promise<T | undefined> => {
    if (failed) return undefined;
    const t0 = Date.now();
    p.o.status.set(`loop: ${name}`, { state: 'running' });
    try {
      const out = await fn();
      const d = detail?.(out);
      steps.push({ name, ok: true, ms: Date.now() - t0, detail: d });
      p.o.status.set(`loop: ${name}`, { state: 'done', event: d });
      return out;
    } catch (e) {
      failed = true;
      const message = (e as Error).message;
      steps.push({ name, ok: false, ms: Date.now() - t0, error: message });
      p.o.status.set(`loop: ${name}`, { state: 'failed', event: message.split('\n')[0] });
      return undefined;
    }
  };

  // What the loop drives: the monitor that retrains, its endpoint and training pipeline.
  const monitors = p.byRole('monitor');
  const monitor = monitors.find((m) => m.retrain) ?? monitors[0];
  const serves = p.byRole('serve').filter((s) => p.services.has(s.workload.id));
  const modelName = monitor ? String(monitor.config?.model) : (obj((serves[0]?.config?.models as unknown[] | undefined)?.[0]).name as string | undefined);
  const variant = monitor?.config?.variant as string | undefined;
  const servesModel = (s: LocalWorkload) => ((s.config?.models as { name: string; variant?: string }[] | undefined) ?? [])
    .some((m) => m.name === modelName && (variant === undefined || (m.variant ?? 'primary') === variant));
  const endpoint = serves.find(servesModel);
  const trains = p.byRole('train').filter((t) => t.config?.model === modelName);
  const pipeline = (monitor?.retrain && trains.find((t) => t.workload.kind === 'CronJob' && t.workload.name === monitor.retrain!.cronJob && t.workload.namespace === monitor.retrain!.namespace)) || trains[0];
  const registryUri = endpoint ? String(endpoint.config?.registry) : pipeline ? String(pipeline.config?.registry) : undefined;
  const registry = registryUri ? openRegistry(registryUri) : undefined;
  const servedVersion = async (): Promise<number | undefined> => {
    if (!endpoint?.url || !modelName) return undefined;
    const res = await fetch(`${endpoint.url}/v2/models/${encodeURIComponent(modelName)}`, { headers: endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {}, signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) return undefined;
    const j = await res.json() as { versions?: string[] };
    return j.versions?.length ? Number(j.versions[j.versions.length - 1]) : undefined;
  };

  let target: TrafficTarget | undefined;
  let featureNames: string[] = [];
  let dataRows: number[][] = [];
  let std: number[] = [];
  const logRoot = endpoint ? obj(endpoint.config?.predictionLog).uri as string | undefined : undefined;

  // An endpoint that looks its features up by entity key gets keys of entities the online store
  // holds (and the rows it will find, looked up the same way, are recorded); others get rows.
  let enrich: EnrichmentPlan | undefined;
  const keyedRows = async (n: number, s: number): Promise<{ rows: number[][]; keys: (string | number)[] }> => {
    const keys = sampleRows(enrich!.keys.map((k) => [k as number]), n, s).map((r) => r[0] as string | number);
    return { keys, rows: await lookupRows(enrich!, keys, featureNames) };
  };
  const sendPhase = async (phase: string, rows: number[][], keys?: (string | number)[]): Promise<Replay> => {
    const idPrefix = `up-${p.runId}-${phase}`;
    const entity = keys && enrich ? { input: enrich.input, datatype: enrich.datatype, keys } : undefined;
    const r = await replay(target!, rows, { phase, batch, idPrefix, featureNames, entity });
    const file = path.join(p.o.stateDir, 'traffic', `${phase}.json`);
    writeJsonAtomic(file, r);
    traffic[phase] = { requests: r.requests.length, rows: rows.length, file, versions: [...new Set(r.requests.map((q) => q.modelVersion))] };
    if (logRoot) {
      const deadline = Date.now() + waitMs;
      while (countLogged(logRoot, modelName!, idPrefix) < r.requests.length) {
        if (Date.now() > deadline) throw new Error(`the server logged ${countLogged(logRoot, modelName!, idPrefix)} of ${r.requests.length} '${phase}' requests under ${logRoot} within ${waitMs} ms`);
        await sleep(100);
      }
    }
    return r;
  };

  const featureChecks: FeatureCheck[] = [];
  for (const f of p.byRole('features-serve').filter((x) => p.services.has(x.workload.id))) {
    await step(`online features (${f.workload.name})`, async () => {
      const check = await checkOnlineFeatures(f);
      featureChecks.push(check);
      return check;
    }, (c) => `${c.entities.length} ${c.joinKey}(s) of view '${c.view}' answered with their latest offline values`);
  }

  if (!endpoint || !modelName) {
    notes.push('the environment has no model endpoint: nothing to send traffic to; the loop ends after the start');
  } else {
    await step('endpoint serves v1', async () => {
      const ref = (endpoint.config?.models as { name: string; ref: number | string }[]).find((m) => m.name === modelName)!.ref;
      const manifest = await registry!.getManifest(modelName, await registry!.resolve(modelName, ref));
      const input = manifest.signature.inputs[0];
      featureNames = [...manifest.signature.featureNames];
      if (endpoint.config?.features) enrich = await enrichmentPlan(endpoint, p.byRole('features-serve').filter((f) => p.services.has(f.workload.id)));
      target = { url: endpoint.url!, model: modelName, token: endpoint.token, input };
      const v = await servedVersion();
      if (v !== manifest.version) throw new Error(`the endpoint reports version ${v}, expected ${manifest.version}`);
      return manifest.version;
    }, (v) => `${modelName}@${v} at ${endpoint.url}/v2/models/${modelName}/infer`);
    await step('load traffic rows', async () => {
      const data = pipeline ? String(obj(pipeline.config?.data).uri) : undefined;
      if (!data) throw new Error(`no training pipeline of model '${modelName}' names a data set to draw traffic from`);
      dataRows = await loadFeatureRows(data, featureNames);
      const ref = await registry!.getReference(modelName, await registry!.resolve(modelName, 'latest'));
      std = featureNames.map((f, j) => ref.features.find((c) => c.name === f)?.std ?? columnStd(dataRows)[j]);
      return data;
    }, (d) => `${dataRows.length} rows of ${d}${enrich ? `; ${enrich.keys.length} ${enrich.joinKey} keys in feature service '${enrich.featureService}'` : ''}`);
    await step('replay traffic', async () => {
      if (!enrich) return sendPhase('baseline', sampleRows(dataRows, rowsPerPhase, seed));
      const { rows, keys } = await keyedRows(rowsPerPhase, seed);
      return sendPhase('baseline', rows, keys);
    }, (r) => `${r.requests.length} requests, ${rowsPerPhase} rows${enrich ? ` as ${enrich.joinKey} keys (features from the online store)` : ''}, answered by version ${traffic.baseline.versions.join(', ')}`);
    if (monitor) {
      await step('monitor (baseline)', async () => {
        const r = summarizeMonitor('baseline', await p.runMonitor(monitor, 'monitor run on the baseline traffic'));
        monitorRuns.push(r);
        return r;
      }, (r) => `dataset drift: ${r.datasetDrift ? 'yes' : 'no'} (${r.driftedFeatures}/${r.testedFeatures} features)`);
      await step('replay shifted traffic', async () => {
        // Shifted rows are sent whole: an endpoint that looks features up takes full rows as they are.
        const rows = enrich ? (await keyedRows(rowsPerPhase, seed + 1)).rows : sampleRows(dataRows, rowsPerPhase, seed + 1);
        return sendPhase('shifted', shiftRows(rows, std, shift));
      }, (r) => `${r.requests.length} requests, every feature moved by ${shift} standard deviations${enrich ? ' (rows sent whole)' : ''}`);
      const drifted = await step('monitor (shifted)', async () => {
        const r = summarizeMonitor('shifted', await p.runMonitor(monitor, 'monitor run on the shifted traffic'));
        monitorRuns.push(r);
        if (!r.datasetDrift) throw new Error(`the monitor found no dataset drift in the shifted traffic (${r.driftedFeatures}/${r.testedFeatures} features drifted, share ${r.driftShare.toFixed(2)}); see ${r.html ?? r.json}`);
        return r;
      }, (r) => `dataset drift: yes (${r.driftedFeatures}/${r.testedFeatures} features); alerts: ${r.alerts.map((a) => `${a.condition} ${a.outcome}`).join(', ') || 'none'}; retraining: ${r.retrain.outcome}`);
      if (drifted && monitor.retrain) {
        const retrainCfg = monitor.retrain;
        let record: string | undefined;
        const run = await step('retraining', async () => {
          if (drifted.retrain.outcome !== 'triggered' || !drifted.retrain.target) {
            throw new Error(`the monitor did not trigger a retraining (${drifted.retrain.outcome}${drifted.retrain.reason ? `: ${drifted.retrain.reason}` : ''}${drifted.retrain.error ? `: ${drifted.retrain.error}` : ''})`);
          }
          record = drifted.retrain.target;
          const before = await registry!.listVersions(modelName);
          const job = await p.runJob(p.cronJob(retrainCfg.namespace, retrainCfg.cronJob), `retraining triggered by ${path.basename(record)}`);
          const after = await registry!.listVersions(modelName);
          const added = after.filter((v) => !before.includes(v));
          if (added.length !== 1) throw new Error(`the retraining registered ${added.length} version(s) of '${modelName}' (before: ${before.join(', ')}; after: ${after.join(', ')})`);
          const manifest = await registry!.getManifest(modelName, added[0]);
          return { job, manifest };
        }, (r) => `CronJob ${retrainCfg.namespace}/${retrainCfg.cronJob} -> ${modelName}@${r.manifest.version}, gate ${r.manifest.gate?.passed ? 'passed' : 'failed'} against v${r.manifest.gate?.comparedWith ?? '-'}`);
        const retraining = run ? { record: record!, cronJob: `${retrainCfg.namespace}/${retrainCfg.cronJob}`, exitCode: run.job.exitCode, version: run.manifest.version, gate: run.manifest.gate } : undefined;
        retrainingSummary = retraining ?? (record ? { record, cronJob: `${retrainCfg.namespace}/${retrainCfg.cronJob}`, exitCode: null } : undefined);
        if (run && !run.manifest.gate?.passed) {
          notes.push(`${modelName}@${run.manifest.version} failed its quality gate (${run.manifest.gate?.reasons.join('; ')}): registered, not promoted`);
        } else if (run) {
          const ref = (endpoint.config?.models as { name: string; ref: number | string }[]).find((m) => m.name === modelName)?.ref;
          if (typeof ref === 'string') {
            // Following an alias (`latest`, or the gate's alias): the server moves by itself.
            await step(`follow '${ref}'`, async () => {
              const aliased = await registry!.resolve(modelName, ref);
              if (aliased !== run.manifest.version) throw new Error(`the endpoint follows '${ref}', which points at v${aliased}, not the retrained v${run.manifest.version}`);
              await waitServed(servedVersion, aliased, waitMs, `${modelName}@${aliased} through '${ref}'`);
              return aliased;
            }, (v) => `the endpoint follows '${ref}', now v${v}: no pin to promote`);
          } else {
            promotion = await step('promote', async () => promote(p, endpoint, modelName, run.manifest.version, waitMs, servedVersion),
              (r) => `${path.relative(process.cwd(), r.pinsFile) || r.pinsFile}: models.${r.change.model}.${r.change.target} ${r.change.from} -> ${r.change.to} (working copy ${r.workingCopy}); ${r.reloaded.join(', ')}`);
          }
          await step('verify the new version serves', async () => {
            const n = Math.min(rowsPerPhase, 20);
            const keyed = enrich ? await keyedRows(n, seed + 2) : undefined;
            const r = await sendPhase('verify', keyed?.rows ?? sampleRows(dataRows, n, seed + 2), keyed?.keys);
            const versions = [...new Set(r.requests.map((q) => q.modelVersion))];
            if (versions.length !== 1 || Number(versions[0]) !== run.manifest.version) throw new Error(`answers came from version(s) ${versions.join(', ')}, expected ${run.manifest.version}`);
            return r;
          }, (r) => `${r.requests.length} requests answered by ${modelName}@${run.manifest.version}`);
        }
      } else if (drifted) {
        notes.push(`monitor ${monitor.workload.id} has no retraining: the loop ends after the drift`);
      }
    } else {
      notes.push('the environment has no drift monitor: the loop ends after the baseline traffic');
    }
  }

  // The summary.
  let registrySummary: UpSummary['registry'];
  if (registry && modelName) {
    try {
      const versions = await registry.listVersions(modelName);
      const manifests = await Promise.all(versions.map((v) => registry.getManifest(modelName, v)));
      const aliases = Object.fromEntries((await registry.listAliases(modelName)).map((a) => [a.alias, a.version]));
      registrySummary = {
        uri: registry.uri,
        model: modelName,
        versions: manifests.map((m) => ({ version: m.version, createdAt: m.createdAt, metrics: m.metrics, gate: m.gate, dataHash: m.lineage.dataHash })),
        aliases,
      };
    } catch (e) {
      notes.push(`registry not summarized: ${(e as Error).message}`);
    }
  }
  let metrics: UpSummary['metrics'];
  if (endpoint?.url && p.services.has(endpoint.workload.id)) {
    try {
      const res = await fetch(`${endpoint.url}/metrics`, { headers: endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {}, signal: AbortSignal.timeout(5000) });
      metrics = { serve: parsePrometheus(await res.text(), SERVE_METRICS), monitorFile: monitor ? String(obj(monitor.config?.output).metricsFile) : undefined };
    } catch (e) {
      notes.push(`metrics not read: ${(e as Error).message}`);
    }
  }
  let served: number | undefined;
  try {
    served = await servedVersion();
  } catch {
    served = undefined;
  }
  const tokensFile = endpoint ? obj(endpoint.config?.auth).tokensFile as string | undefined : undefined;
  return {
    schema: 'cdk-mlops.up.summary/v1',
    ok: !failed,
    program: p.o.appFile,
    environment: p.env.environment,
    stateDir: p.o.stateDir,
    durationMs: Date.now() - started,
    steps,
    services: [...p.locals.values()].filter((l) => p.services.has(l.workload.id)).map((l) => ({ id: l.workload.id, role: l.workload.role, url: l.url })),
    jobs: p.jobs.map((j) => ({ id: j.id, reason: j.reason, exitCode: j.exitCode, durationMs: j.durationMs, logFile: j.logFile })),
    endpoint: endpoint && modelName ? { id: endpoint.workload.id, model: modelName, url: endpoint.url!, infer: `${endpoint.url}/v2/models/${modelName}/infer`, tokensFile, servedVersion: served } : undefined,
    traffic,
    monitor: monitorRuns,
    alerts: p.inbox.messages.map((m) => ({ file: m.file, text: typeof obj(m.body).text === 'string' ? String(obj(m.body).text) : undefined })),
    retraining: retrainingSummary,
    promotion,
    registry: registrySummary,
    metrics,
    report: monitorRuns.length ? monitorRuns[monitorRuns.length - 1].html ?? monitorRuns[monitorRuns.length - 1].json : undefined,
    features: featureChecks,
    notes,
  };
}

/**
 * Promotes `version` the way `cdk-mlops promote` does, on a working copy: finds the pin the
 * endpoint's version was read from, edits exactly that value (promotePins), synthesizes the
 * program again with the working copy in place of the file, applies the difference (the server
 * hot-reloads its model list) and waits until the endpoint serves `version`.
 */
async function promote(p: LocalPlatform, endpoint: LocalWorkload, model: string, version: number, waitMs: number, served: () => Promise<number | undefined>): Promise<NonNullable<UpSummary['promotion']>> {
  const current = (endpoint.config?.models as { name: string; ref: number | string }[]).find((m) => m.name === model)?.ref;
  if (typeof current !== 'number') throw new Error(`endpoint ${endpoint.workload.id} serves no pinned version of '${model}'`);
  const candidates = p.pins.filter((l) => l.model === model && l.version === current);
  const lookup = candidates.find((l) => l.target === p.env.environment) ?? candidates[0];
  if (!lookup) {
    throw new Error(`endpoint ${endpoint.workload.id} serves ${model}@${current}, but the program read no pin of '${model}' at ${current} from a pins file (ModelPins.fromFile): promote it in the program`);
  }
  const text = p.pinsOverrides.get(lookup.file) ?? fs.readFileSync(lookup.file, 'utf8');
  const result = promotePins(text, { model, to: lookup.target, version }, lookup.file);
  p.pinsOverrides.set(lookup.file, result.text);
  const workingCopy = path.join(p.o.stateDir, 'pins', path.basename(lookup.file));
  fs.mkdirSync(path.dirname(workingCopy), { recursive: true });
  fs.writeFileSync(workingCopy, result.text);
  const changes = await p.resync(`promote ${model} to v${version} for '${lookup.target}'`);
  await waitServed(served, version, waitMs, `${model}@${version} after the new configuration (see ${path.join(p.o.stateDir, 'logs')})`);
  return {
    pinsFile: lookup.file,
    workingCopy,
    change: result.change,
    command: `cdk-mlops promote ${model} --to ${lookup.target} --version ${version} --pins ${path.relative(process.cwd(), lookup.file) || lookup.file}`,
    reloaded: changes.map((c) => `${c.id} ${c.action}`),
  };
}

function parquetFiles(dir: string): string[] {
  if (dir.endsWith('.parquet') && fs.existsSync(dir)) return [dir];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const q = path.join(d, e.name);
      if (e.isDirectory()) walk(q);
      else if (e.name.endsWith('.parquet')) out.push(q);
    }
  };
  walk(dir);
  return out;
}

/**
 * Looks up three entities of the feature server's first online single-entity view and checks
 * every value against the latest row (by the view's timestamp field) of its offline source.
 */
async function checkOnlineFeatures(f: LocalWorkload): Promise<FeatureCheck> {
  const cfg = f.config ?? {};
  const entities = (cfg.entities as { name: string; joinKey?: string }[] | undefined) ?? [];
  const views = (cfg.featureViews as { name: string; entities: string[]; features: { name: string }[]; source: { path: string }; timestampField?: string; online?: boolean }[] | undefined) ?? [];
  const view = views.find((v) => v.online !== false && v.entities.length === 1);
  if (!view) throw new Error(`feature server ${f.workload.id} has no online view keyed by one entity to check`);
  const entity = entities.find((e) => e.name === view.entities[0]);
  const joinKey = entity?.joinKey ?? view.entities[0];
  const latest = await latestOfflineRows(cfg, view, joinKey);
  const picked = [...latest.values()].slice(0, 3);
  const refs = view.features.map((x) => `${view.name}:${x.name}`);
  const res = await fetch(`${f.url}/get-online-features`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ features: refs, entities: { [joinKey]: picked.map((x) => x.key) } }),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${f.url}/get-online-features answered ${res.status}: ${text.slice(0, 300)}`);
  const answer = JSON.parse(text) as { metadata: { feature_names: string[] }; results: { values: unknown[]; statuses: string[] }[] };
  const values: Record<string, unknown[]> = {};
  view.features.forEach((feat) => {
    const i = answer.metadata.feature_names.findIndex((n) => n === feat.name || n === `${view.name}__${feat.name}`);
    if (i < 0) throw new Error(`the feature server did not return '${feat.name}' (it returned ${answer.metadata.feature_names.join(', ')})`);
    const r = answer.results[i];
    picked.forEach((x, j) => {
      const expected = x.row[feat.name];
      const got = r.values[j];
      if (r.statuses[j] !== 'PRESENT' || Number(got) !== Number(expected)) {
        throw new Error(`${joinKey} ${String(x.key)}: '${view.name}:${feat.name}' is ${JSON.stringify(got)} (${r.statuses[j]}), the offline source has ${JSON.stringify(typeof expected === 'bigint' ? Number(expected) : expected)}`);
      }
    });
    values[feat.name] = r.values;
  });
  return { id: f.workload.id, url: f.url!, view: view.name, joinKey, entities: picked.map((x) => x.key), values };
}

type RegistryDoc = Record<string, unknown>;
interface ViewDoc { name: string; entities: string[]; features: { name: string }[]; source: { path: string }; timestampField?: string; online?: boolean }

/** The latest row (by the view's timestamp field) of each entity in a view's offline source, by key text. */
async function latestOfflineRows(cfg: RegistryDoc, view: ViewDoc, joinKey: string): Promise<Map<string, { key: number | string; ts: number; row: Record<string, unknown> }>> {
  const root = String(obj(cfg.offlineStore).root ?? '');
  const source = path.isAbsolute(view.source.path) ? view.source.path : path.join(root, view.source.path);
  const files = parquetFiles(source);
  if (!files.length) throw new Error(`the offline source of view '${view.name}' (${source}) holds no Parquet file`);
  const { parquetReadObjects } = await import('hyparquet');
  const latest = new Map<string, { key: number | string; ts: number; row: Record<string, unknown> }>();
  const tsField = view.timestampField ?? 'event_timestamp';
  for (const file of files) {
    const buf = fs.readFileSync(file);
    const rows = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer });
    for (const row of rows) {
      const raw = row[joinKey];
      const key = typeof raw === 'bigint' ? Number(raw) : raw as number | string;
      const t = row[tsField] instanceof Date ? (row[tsField] as Date).getTime() : Number(row[tsField]);
      const prev = latest.get(String(key));
      if (!prev || t >= prev.ts) latest.set(String(key), { key, ts: t, row });
    }
  }
  return latest;
}

/** How the loop drives an endpoint that looks its features up by entity key. */
export interface EnrichmentPlan {
  /** The request input carrying the keys, and its datatype. */
  readonly input: string;
  readonly datatype: 'INT64' | 'BYTES';
  readonly joinKey: string;
  readonly featureService: string;
  /** The local feature server the endpoint asks. */
  readonly serverUrl: string;
  /** Keys of the entities the online store holds (from the first view of the service). */
  readonly keys: readonly (number | string)[];
}

async function enrichmentPlan(endpoint: LocalWorkload, servers: readonly LocalWorkload[]): Promise<EnrichmentPlan> {
  const f = obj(endpoint.config?.features);
  const url = String(f.url ?? '');
  const entityInputs = Object.entries(obj(f.entityInputs)) as [string, string][];
  if (entityInputs.length !== 1) throw new Error(`endpoint ${endpoint.workload.id} looks its features up by ${entityInputs.length} entity inputs; the local loop sends one`);
  const [input, joinKey] = entityInputs[0];
  const server = servers.find((x) => x.url && url.startsWith(x.url));
  if (!server) throw new Error(`endpoint ${endpoint.workload.id} looks its features up at ${url}, where no local feature server runs`);
  const cfg = server.config ?? {};
  const featureService = String(f.featureService);
  const service = ((cfg.featureServices as { name: string; features: string[] }[] | undefined) ?? []).find((x) => x.name === featureService);
  if (!service) throw new Error(`feature server ${server.workload.id} has no feature service '${featureService}'`);
  const viewName = service.features[0].split(':')[0];
  const view = ((cfg.featureViews as ViewDoc[] | undefined) ?? []).find((v) => v.name === viewName);
  if (!view) throw new Error(`feature service '${featureService}' names view '${viewName}', which feature server ${server.workload.id} lacks`);
  const keys = [...(await latestOfflineRows(cfg, view, joinKey)).values()].map((x) => x.key);
  if (!keys.length) throw new Error(`view '${viewName}' holds no entity to send`);
  return { input, datatype: typeof keys[0] === 'string' ? 'BYTES' : 'INT64', joinKey, featureService, serverUrl: server.url!, keys };
}

/** The feature rows (in `featureNames` order) the feature service holds for `keys`: what the endpoint will assemble. */
async function lookupRows(plan: EnrichmentPlan, keys: readonly (number | string)[], featureNames: readonly string[]): Promise<number[][]> {
  const res = await fetch(`${plan.serverUrl}/get-online-features`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ feature_service: plan.featureService, entities: { [plan.joinKey]: keys } }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${plan.serverUrl}/get-online-features answered ${res.status}: ${text.slice(0, 300)}`);
  const answer = JSON.parse(text) as { metadata: { feature_names: string[] }; results: { values: unknown[]; statuses: string[] }[] };
  const columns = featureNames.map((name) => {
    const i = answer.metadata.feature_names.indexOf(name);
    if (i < 0) throw new Error(`feature service '${plan.featureService}' does not provide '${name}', a feature of the model`);
    return answer.results[i];
  });
  return keys.map((key, r) => columns.map((c, j) => {
    if (c.statuses[r] !== 'PRESENT') throw new Error(`${plan.joinKey} ${String(key)}: '${featureNames[j]}' is ${c.statuses[r]} in the online store`);
    return Number(c.values[r]);
  }));
}

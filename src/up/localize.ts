import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeWorkload, ServiceEntry, workloadsOfService } from './workloads';
import { RUNTIME_CONFIG_FILE } from '../constructs/cluster/runtime-workload';

/**
 * Rewriting a workload's synthesized configuration for one machine (the embedded defaults):
 *
 * - every `s3://bucket/key` string becomes the local directory `<state>/s3/bucket/key`
 *   (registry, prediction logs, offline features, data, monitor state);
 * - in-cluster URLs (`http://<service>.<namespace>.svc[.cluster.local][:port]/...`) of a Service
 *   that selects a workload run here become the loopback address of that workload;
 * - listening ports become free loopback ports, hosts 127.0.0.1;
 * - files mounted from Secrets (serving tokens) become generated local files;
 * - GPU requests are not applied: a served model configured for the `cuda` execution provider
 *   runs on `cpu` (with a note);
 * - per command: the online store becomes the local Redis under a key prefix of this run (or
 *   the in-process store when Redis does not answer), the monitor writes its reports and metrics
 *   under the state directory, sends alerts to the local inbox and records retraining triggers
 *   locally instead of creating a Kubernetes Job.
 *
 * Pure apart from creating the secret files and directories it points at.
 */

/** What the rewrite needs to know about this run. */
export interface LocalSettings {
  /** The state directory of this `up`. */
  readonly stateDir: string;
  /** A short id of this run (Redis key prefix). */
  readonly runId: string;
  /** Local Redis URL when it answers; undefined: use the in-process online store. */
  readonly redisUrl?: string;
  /** Why there is no Redis (for the note). @default 'Redis at 127.0.0.1:6379 does not answer' */
  readonly noRedisReason?: string;
  /** URL of the local alert inbox (the monitors' webhook). */
  readonly alertWebhook?: string;
  /** Local port per workload id and container port. */
  readonly ports: ReadonlyMap<string, ReadonlyMap<number, number>>;
  readonly workloads: readonly RuntimeWorkload[];
  readonly services: readonly ServiceEntry[];
}

/** A workload ready to run here. */
export interface LocalWorkload {
  readonly workload: RuntimeWorkload;
  /** The rewritten configuration (undefined when the workload has none). */
  readonly config?: Record<string, unknown>;
  /** Where the rewritten configuration is written. */
  readonly configFile?: string;
  /** Arguments with the config path replaced. */
  readonly args: string[];
  /** Environment of the process (beside the parent's). */
  readonly env: Record<string, string>;
  /** Loopback base URL of its first port, for servers. */
  readonly url?: string;
  /** Readiness URL, for servers. */
  readonly readyUrl?: string;
  /** Bearer token accepted by a server with authentication. */
  readonly token?: string;
  /** Monitor only: the CronJob (namespace/name) a drift finding retrains from, and where trigger records go. */
  readonly retrain?: { readonly cronJob: string; readonly namespace: string; readonly recordDir: string };
  /** Monitor only: its report directory. */
  readonly reportDir?: string;
  /** Inputs (data files, offline sources) the workload reads: local path and the URI it stands for. */
  readonly inputs: readonly { readonly localPath: string; readonly uri: string; readonly what: string }[];
  /** Things that do not work locally, for the status view. */
  readonly notes: readonly string[];
}

const S3_RE = /^s3:\/\/([^/]+)(\/(.*))?$/;
const CLUSTER_URL_RE = /^(https?):\/\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?(:(\d+))?(\/.*)?$/;

/** The local path standing for `s3://bucket/key` under the state directory. */
export function localObjectPath(stateDir: string, uri: string): string | undefined {
  const m = S3_RE.exec(uri);
  if (!m) return undefined;
  const key = m[3] ?? '';
  if (key.split('/').includes('..')) throw new Error(`refusing the object URI ${uri}: its key contains '..'`);
  // A trailing '/' (a prefix) stays: path.join keeps it.
  return path.join(stateDir, 's3', m[1], key);
}

/** A safe file name from a workload id. */
export function fileNameOf(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}

type Json = unknown;

function mapStrings(value: Json, f: (s: string, at: readonly (string | number)[]) => string, at: readonly (string | number)[] = []): Json {
  if (typeof value === 'string') return f(value, at);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, f, [...at, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f, [...at, k])]));
  }
  return value;
}

function valueAt(value: Json, at: readonly (string | number)[]): Json {
  let v = value;
  for (const k of at) v = v !== null && typeof v === 'object' ? (v as Record<string | number, Json>)[k] : undefined;
  return v;
}

/** Resolves an in-cluster URL to the loopback URL of the local workload behind it, if any. */
export function localServiceUrl(url: string, s: Pick<LocalSettings, 'services' | 'workloads' | 'ports'>): string | undefined {
  const m = CLUSTER_URL_RE.exec(url);
  if (!m) return undefined;
  const [, scheme, svcName, , namespace] = m;
  const port = m[8] ? Number(m[8]) : scheme === 'https' ? 443 : 80;
  const service = s.services.find((x) => x.name === svcName && x.namespace === namespace);
  if (!service) return undefined;
  const sp = service.ports.find((p) => p.port === port) ?? (m[8] ? undefined : service.ports[0]);
  if (!sp) return undefined;
  for (const w of workloadsOfService(service, s.workloads)) {
    const target = sp.targetPort ?? sp.port;
    const cp = typeof target === 'number' ? w.ports.find((p) => p.port === target) : w.ports.find((p) => p.name === target);
    const local = cp ? s.ports.get(w.id)?.get(cp.port) : undefined;
    if (local !== undefined) return `http://127.0.0.1:${local}${m[9] ?? ''}`;
  }
  return undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {};
}

/** Rewrites one workload for this machine and writes its configuration file. */
export function localizeWorkload(w: RuntimeWorkload, s: LocalSettings): LocalWorkload {
  const notes: string[] = [];
  const inputs: { localPath: string; uri: string; what: string }[] = [];
  const secretsDir = path.join(s.stateDir, 'secrets');
  const localSecretPath = (p: string): string | undefined => {
    for (const [mount, secret] of Object.entries(w.secretMounts)) {
      if (p === mount || p.startsWith(`${mount}/`)) return path.join(secretsDir, w.namespace, secret, p.slice(mount.length).replace(/^\//, ''));
    }
    return undefined;
  };
  let config: Record<string, unknown> | undefined;
  const unreachable: { at: readonly (string | number)[]; url: string }[] = [];
  if (w.config) {
    config = mapStrings(w.config, (str, at) => {
      const local = localObjectPath(s.stateDir, str);
      if (local !== undefined) return local;
      if (CLUSTER_URL_RE.test(str)) {
        const url = localServiceUrl(str, s);
        if (url) return url;
        unreachable.push({ at, url: str });
        return str;
      }
      return localSecretPath(str) ?? str;
    }) as Record<string, unknown>;
  }
  const ports = s.ports.get(w.id);
  const portOf = (original: unknown): number | undefined => {
    if (!ports || ports.size === 0) return undefined;
    return (typeof original === 'number' ? ports.get(original) : undefined) ?? [...ports.values()][0];
  };
  let token: string | undefined;
  let retrain: LocalWorkload['retrain'];
  let reportDir: string | undefined;
  const home = path.join(s.stateDir, 'work', fileNameOf(w.id));

  if (config) {
    switch (w.role) {
      case 'serve': {
        config.host = '127.0.0.1';
        const port = portOf(config.port);
        if (port !== undefined) config.port = port;
        const auth = obj(config.auth);
        if (typeof auth.tokensFile === 'string') {
          token = ensureTokenFile(auth.tokensFile, w.id);
        }
        const log = obj(config.predictionLog);
        if (config.predictionLog) {
          delete log.s3;
          config.predictionLog = { ...log, flushIntervalMs: Math.min(Number(log.flushIntervalMs ?? 1000), 500) };
          if (typeof log.uri === 'string') fs.mkdirSync(log.uri, { recursive: true });
        }
        // No load balancer to drain from locally; aliases followed within seconds.
        config.shutdown = { ...obj(config.shutdown), drainDelayMs: 0 };
        const reload = obj(config.reload);
        const poll = Number(reload.aliasPollSeconds ?? 30);
        config.reload = { ...reload, aliasPollSeconds: poll > 0 ? Math.min(poll, 2) : 0, configPollMs: Math.min(Number(reload.configPollMs ?? 2000) || 2000, 500) };
        // GPU requests are not applied here: a model the cluster runs on CUDA runs on the CPU, said in a note.
        if (Array.isArray(config.models)) {
          config.models = config.models.map((m) => {
            const model = obj(m);
            if (model.executionProvider !== 'cuda') return m;
            const { cudaDeviceId: _device, ...rest } = model;
            notes.push(`model '${String(model.name)}' runs on onnxruntime's CPU execution provider here (in the cluster: 'cuda')`);
            return { ...rest, executionProvider: 'cpu' };
          });
        }
        break;
      }
      case 'monitor': {
        const name = w.name;
        reportDir = path.join(s.stateDir, 'monitor', name, 'reports');
        const output = { ...obj(config.output), reportDir, metricsFile: path.join(s.stateDir, 'monitor', name, 'metrics.prom') };
        delete (output as Record<string, unknown>).pushgateway;
        config.output = output;
        const alerts = { ...obj(config.alerts) };
        delete alerts.reportBaseUrl;
        if (s.alertWebhook) alerts.webhook = s.alertWebhook;
        config.alerts = alerts;
        const r = obj(config.retrain);
        if (config.retrain) {
          const k = obj(r.kubernetes);
          const recordDir = path.join(s.stateDir, 'retrain', name);
          if (r.kubernetes) {
            retrain = { cronJob: String(k.cronJob), namespace: typeof k.namespace === 'string' ? k.namespace : w.namespace, recordDir };
            const { kubernetes: _k, ...rest } = r;
            config.retrain = { ...rest, local: { recordDir } };
          }
        }
        const server = obj(config.server);
        const port = portOf(server.port);
        config.server = { ...server, host: '127.0.0.1', ...(port !== undefined ? { port } : {}) };
        if (!config.stateUri) config.stateUri = path.join(s.stateDir, 'monitor', name, 'state.json');
        break;
      }
      case 'train': {
        const data = obj(config.data);
        if (typeof data.uri === 'string' && typeof w.config?.data === 'object') {
          inputs.push({ localPath: data.uri, uri: String(obj(w.config.data).uri), what: `training data of ${w.id}` });
        }
        break;
      }
      case 'features-serve':
      case 'features-materialize': {
        const online = obj(config.onlineStore);
        if (s.redisUrl) {
          config.onlineStore = {
            type: 'redis',
            url: s.redisUrl,
            keyPrefix: `${typeof online.keyPrefix === 'string' ? online.keyPrefix : 'cdk-mlops:features:'}up-${s.runId}:`,
          };
          if (online.type !== 'redis') notes.push(`online store '${String(online.type)}' runs as the local Redis`);
        } else {
          config.onlineStore = { type: 'memory', refreshSeconds: 0 };
          notes.push(`${s.noRedisReason ?? 'Redis at 127.0.0.1:6379 does not answer'}: the online store runs in the feature server's process`);
        }
        const fsrv = obj(config.featureServer);
        const port = portOf(fsrv.port);
        config.featureServer = { ...fsrv, host: '127.0.0.1', ...(port !== undefined ? { port } : {}) };
        const offline = obj(config.offlineStore);
        const root = typeof offline.root === 'string' ? offline.root : undefined;
        const originalRoot = String(obj(obj(w.config).offlineStore).root ?? '');
        for (const [i, v] of (Array.isArray(config.featureViews) ? config.featureViews : []).entries()) {
          const src = obj(obj(v).source);
          const orig = obj(obj((obj(w.config).featureViews as unknown[])[i]).source);
          if (typeof src.path !== 'string') continue;
          const abs = path.isAbsolute(src.path) ? src.path : root ? path.join(root, src.path) : src.path;
          const uri = typeof orig.path === 'string' && /^s3:\/\//.test(orig.path) ? orig.path : `${originalRoot.replace(/\/$/, '')}/${String(orig.path)}`;
          inputs.push({ localPath: abs, uri, what: `source of feature view '${String(obj(v).name)}'` });
        }
        break;
      }
      default:
        break;
    }
  }

  // In-cluster addresses that nothing local answers and that the rewrite above left in place.
  for (const u of unreachable) {
    if (valueAt(config, u.at) === u.url) notes.push(`'${u.at.join('.')}' points at ${u.url}, which does not run locally`);
  }
  let configFile: string | undefined;
  if (config) {
    configFile = path.join(s.stateDir, 'config', `${fileNameOf(w.id)}.json`);
    writeJsonAtomic(configFile, config);
  }
  const args = w.args.map((a) => (a === RUNTIME_CONFIG_FILE && configFile ? configFile : a));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(w.env)) {
    if (k === 'TMPDIR' || k === 'CDK_MLOPS_CONFIG') continue;
    env[k] = v;
  }
  if (configFile) env.CDK_MLOPS_CONFIG = configFile;
  if (w.gpus > 0) notes.push(`requests ${w.gpus} GPU(s): runs here without them`);
  const external = obj(w.config?.external);
  if (w.role === 'train' && typeof external.command === 'string') {
    notes.push(`runs the external trainer '${external.command}' on this machine${w.image ? ` (in the cluster: in image ${w.image})` : ''}`);
  }
  const originalOnline = obj(obj(w.config).onlineStore);
  for (const name of Object.keys(w.secretEnv)) {
    // Replaced by local values set in the configuration: a monitor's webhook (the local inbox),
    // the online store's address and credentials (the local Redis).
    if (w.role === 'monitor' && /ALERTS__WEBHOOK$/.test(name)) continue;
    if ((w.role === 'features-serve' || w.role === 'features-materialize')
      && (name.startsWith('CDK_MLOPS_FEATURES_ONLINE_STORE') || name === originalOnline.passwordEnv || name === originalOnline.usernameEnv)) continue;
    notes.push(`environment variable ${name} comes from Secret ${w.namespace}/${w.secretEnv[name].secret}, which does not exist locally`);
  }
  fs.mkdirSync(home, { recursive: true });

  let url: string | undefined;
  let readyUrl: string | undefined;
  const first = w.ports[0];
  const local = first ? ports?.get(first.port) : undefined;
  if (local !== undefined) {
    url = `http://127.0.0.1:${local}`;
    const readyPath = w.readinessPath ?? (w.role === 'serve' ? '/v2/health/ready' : w.role === 'features-serve' ? '/health' : w.role === 'monitor' ? '/readyz' : undefined);
    if (readyPath) readyUrl = `${url}${readyPath}`;
  }
  return { workload: w, config, configFile, args, env, url, readyUrl, token, retrain, reportDir, inputs, notes };
}

/** Creates the tokens file (one generated token) unless it exists; returns its first token. */
function ensureTokenFile(file: string, id: string): string {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, `# generated by cdk-mlops up for ${id}\n${crypto.randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  }
  const token = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('#'));
  if (!token) throw new Error(`the tokens file ${file} of ${id} holds no token`);
  return token;
}

/** Writes JSON through a temporary file and a rename, so a reader never sees half of it. */
export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/**
 * Makes sure an input the workloads read exists locally: when `localPath` is missing, the first
 * of `<seed>/<key>` or `<seed>/<file name>` found in the seed directories is copied there.
 * Throws naming the URI, the local path and the places looked at when none exists.
 */
export function seedInput(input: { localPath: string; uri: string; what: string }, seedDirs: readonly string[]): 'present' | string {
  if (fs.existsSync(input.localPath)) return 'present';
  const m = S3_RE.exec(input.uri);
  const key = (m ? m[3] ?? '' : input.uri).replace(/\/$/, '');
  const candidates = seedDirs.flatMap((d) => [path.join(d, key), path.join(d, path.basename(key))]);
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) {
    throw new Error(`${input.what} ${input.uri} has no local copy: put it at ${input.localPath}, or pass --data <dir> with the file at <dir>/${key} or <dir>/${path.basename(key)} (looked at: ${candidates.join(', ') || 'no --data directory'})`);
  }
  fs.mkdirSync(path.dirname(input.localPath.replace(/\/$/, '')), { recursive: true });
  fs.cpSync(found, input.localPath.replace(/\/$/, ''), { recursive: true });
  return found;
}

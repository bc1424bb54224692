import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { FEATURES, LIVE_ROWS, depsFor, registerModel, rowsOf, testConfig, tmpDir, writeTraffic } from './support';
import { retrainJobName } from '../../../src/runtime/monitor/actions';
import { jobFromCronJob } from '../../../src/runtime/monitor/kube';
import { runMonitorOnce } from '../../../src/runtime/monitor/monitor';
import type { MonitorResult } from '../../../src/runtime/monitor/result';

/** A loopback HTTP server that records every request and answers with `respond`. */
class Recorder {
  public readonly requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.requests.push(r);
      const out = this.respond(r);
      res.writeHead(out.status, { 'content-type': typeof out.body === 'string' ? 'text/plain' : 'application/json' });
      res.end(typeof out.body === 'string' ? out.body : JSON.stringify(out.body ?? {}));
    });
  });
  public respond: (req: { method: string; url: string; body: string }) => { status: number; body?: unknown } = () => ({ status: 200, body: 'ok' });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const T0 = Date.UTC(2025, 5, 2, 9, 0, 0);
const MIN = 60_000;
// 20 of 30 features scaled by 1.5, worst_radius among them (the "model" uses it): dataset drift,
// prediction drift and performance decay at once
const DRIFTED = FEATURES.slice(0, 20);
if (!DRIFTED.includes('worst_radius')) DRIFTED[19] = 'worst_radius';

function traffic(shifted: boolean): { rows: Record<string, number>[]; target: number[] } {
  const { features, target } = rowsOf(LIVE_ROWS);
  const rows = features.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, shifted && DRIFTED.includes(k) ? v * 1.5 : v])));
  return { rows, target };
}

async function setup(name: string): Promise<{ root: string; version: number }> {
  const root = tmpDir(name);
  const version = await registerModel(path.join(root, 'registry'), 'cancer');
  return { root, version };
}

describe('alert webhook: one message per drift episode', () => {
  const hook = new Recorder();
  let url: string;
  beforeAll(async () => {
    url = await hook.start();
  });
  afterAll(() => hook.stop());

  test('drift alerts once, stays quiet while it persists, resolves once, and a new episode alerts again', async () => {
    const { root, version } = await setup('webhook');
    const config = testConfig(root, 'cancer', { alerts: { webhook: `${url}/hooks/T000/B000/XXXX`, reportBaseUrl: 'https://reports.example.com/cancer' } });
    const run = async (at: number): Promise<MonitorResult> => (await runMonitorOnce(config, depsFor(config, () => at))).result;
    const drifted = traffic(true);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 - 20 * MIN, 'drift-1');

    const r1 = await run(T0);
    expect(r1.conditions).toEqual({ dataset_drift: true, prediction_drift: true, performance_decay: true, data_quality: true });
    expect(r1.actions.alerts.map((a) => [a.condition, a.outcome])).toEqual([
      ['dataset_drift', 'sent'], ['prediction_drift', 'sent'], ['performance_decay', 'sent'], ['data_quality', 'sent'],
    ]);
    expect(hook.requests).toHaveLength(4);
    const first = JSON.parse(hook.requests[0].body) as { text: string; blocks: { type: string; text?: { text: string }; elements?: { text: string }[] }[] };
    expect(hook.requests[0].method).toBe('POST');
    expect(hook.requests[0].url).toBe('/hooks/T000/B000/XXXX');
    expect(hook.requests[0].headers['content-type']).toBe('application/json');
    expect(first.text).toBe(`[cdk-mlops] Dataset drift on cancer v1: 20 of 30 features drifted (share 0.6667 >= 0.5): ${r1.dataset.driftedColumns.slice(0, 10).join(', ')}, ...`);
    expect(first.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(first.blocks[0].text!.text).toBe('Dataset drift on cancer v1');
    expect(first.blocks[3].elements!.map((e) => e.text)).toEqual([
      `episode \`dataset_drift-v1-${new Date(T0).toISOString()}\``,
      '<https://reports.example.com/cancer/cancer-v1-20250602T090000Z.html|report>',
    ]);
    const decay = JSON.parse(hook.requests[2].body) as { text: string };
    expect(decay.text).toMatch(/^\[cdk-mlops\] Performance decay on cancer v1: accuracy 0\.\d+ vs 0\.\d+ \(\d+\.\d% worse\)/);

    // the same drift 15 minutes later: same episode, nothing sent
    const r2 = await run(T0 + 15 * MIN);
    expect(r2.actions.alerts.every((a) => a.outcome === 'deduplicated')).toBe(true);
    expect(r2.actions.alerts.map((a) => a.episode)).toEqual(r1.actions.alerts.map((a) => a.episode));
    expect(hook.requests).toHaveLength(4);

    // three hours later only clean traffic is in the window: every episode resolves, once
    const clean = traffic(false);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, clean.rows, clean.target, T0 + 160 * MIN, 'clean-1');
    const r3 = await run(T0 + 180 * MIN);
    expect(r3.conditions).toEqual({ dataset_drift: false, prediction_drift: false, performance_decay: false, data_quality: false });
    expect(r3.actions.alerts.map((a) => [a.condition, a.outcome])).toEqual([
      ['dataset_drift', 'resolved'], ['prediction_drift', 'resolved'], ['performance_decay', 'resolved'], ['data_quality', 'resolved'],
    ]);
    expect(hook.requests).toHaveLength(8);
    expect((JSON.parse(hook.requests[4].body) as { text: string }).text).toBe(`[cdk-mlops] Resolved: Dataset drift on cancer v1: no longer detected in the window ending ${new Date(T0 + 180 * MIN).toISOString()}`);
    const r4 = await run(T0 + 190 * MIN);
    expect(r4.actions.alerts).toEqual([]);
    expect(hook.requests).toHaveLength(8);

    // drift returns: a new episode, announced again
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 + 300 * MIN, 'drift-2');
    const r5 = await run(T0 + 310 * MIN);
    expect(r5.actions.alerts.filter((a) => a.outcome === 'sent')).toHaveLength(4);
    expect(r5.actions.alerts[0].episode).toBe(`dataset_drift-v1-${new Date(T0 + 310 * MIN).toISOString()}`);
    expect(hook.requests).toHaveLength(12);
  });

  test('a failing webhook is reported and retried on the next run, then deduplicated', async () => {
    const { root, version } = await setup('webhook-fail');
    const config = testConfig(root, 'cancer', { alerts: { webhook: `${url}/fail`, on: ['dataset_drift'] } });
    const drifted = traffic(true);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 - 20 * MIN);
    const before = hook.requests.length;
    hook.respond = () => ({ status: 500, body: 'slack is down' });
    const deps1 = depsFor(config, () => T0);
    const r1 = (await runMonitorOnce(config, deps1)).result;
    expect(r1.actions.alerts).toEqual([{ condition: 'dataset_drift', outcome: 'failed', episode: `dataset_drift-v1-${new Date(T0).toISOString()}`, error: 'webhook answered 500: slack is down' }]);
    expect(deps1.lines.some((l) => l.msg === 'alert webhook failed for dataset_drift; it is retried on the next run')).toBe(true);
    hook.respond = () => ({ status: 200, body: 'ok' });
    const r2 = (await runMonitorOnce(config, depsFor(config, () => T0 + 5 * MIN))).result;
    expect(r2.actions.alerts.map((a) => a.outcome)).toEqual(['sent']);
    const r3 = (await runMonitorOnce(config, depsFor(config, () => T0 + 10 * MIN))).result;
    expect(r3.actions.alerts.map((a) => a.outcome)).toEqual(['deduplicated']);
    expect(hook.requests.length - before).toBe(2);
  });
});

const CRONJOB = {
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'cancer-train', namespace: 'ml', uid: '6f1e2d3c-0000-4000-8000-000000000001', resourceVersion: '123' },
  spec: {
    schedule: '0 3 * * 0',
    jobTemplate: {
      metadata: { labels: { 'app.kubernetes.io/name': 'cancer-train', 'kueue.x-k8s.io/queue-name': 'training' }, annotations: { 'cdk-mlops.io/config-hash': 'abc123' } },
      spec: {
        backoffLimit: 1,
        ttlSecondsAfterFinished: 86400,
        template: {
          metadata: { labels: { 'app.kubernetes.io/name': 'cancer-train' } },
          spec: {
            restartPolicy: 'Never',
            serviceAccountName: 'cancer-train',
            containers: [{ name: 'train', image: 'ghcr.io/example/cdk-mlops:1.0.0', args: ['train', '--config', '/etc/cdk-mlops/train.yaml'], resources: { requests: { cpu: '1', memory: '2Gi' } } }],
          },
        },
      },
    },
  },
};

describe('retraining in a cluster: a Job from the training CronJob, once per episode, with a cooldown', () => {
  const kube = new Recorder();
  let api: string;
  let jobs: Record<string, unknown>[] = [];
  beforeAll(async () => {
    api = await kube.start();
    kube.respond = (req) => {
      if (req.method === 'GET' && req.url === '/apis/batch/v1/namespaces/ml/cronjobs/cancer-train') return { status: 200, body: CRONJOB };
      if (req.method === 'POST' && req.url === '/apis/batch/v1/namespaces/ml/jobs') {
        const job = JSON.parse(req.body) as { metadata: { name: string } };
        if (jobs.some((j) => (j as { metadata: { name: string } }).metadata.name === job.metadata.name)) {
          return { status: 409, body: { kind: 'Status', reason: 'AlreadyExists', message: `jobs.batch "${job.metadata.name}" already exists` } };
        }
        jobs.push(job);
        return { status: 201, body: job };
      }
      return { status: 404, body: { kind: 'Status', reason: 'NotFound', message: 'not found' } };
    };
  });
  afterAll(() => kube.stop());

  test('the Job is exactly the CronJob template (as kubectl create job --from makes it); a second drift within the cooldown starts nothing', async () => {
    jobs = [];
    kube.requests.length = 0;
    const { root, version } = await setup('kube');
    const tokenFile = path.join(root, 'token');
    fs.writeFileSync(tokenFile, 'sa-token-123\n');
    const config = testConfig(root, 'cancer', {
      retrain: { cooldown: '6h', kubernetes: { cronJob: 'cancer-train', namespace: 'ml', apiServer: api, tokenFile } },
    });
    const run = async (at: number) => (await runMonitorOnce(config, depsFor(config, () => at))).result;
    const drifted = traffic(true);
    const clean = traffic(false);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 - 20 * MIN, 'drift-1');

    const r1 = await run(T0);
    const episode = `dataset_drift-v1-${new Date(T0).toISOString()}`;
    const name = retrainJobName('cancer-train', episode);
    expect(r1.actions.retrain).toEqual({ outcome: 'triggered', episode, reason: `dataset_drift: episode ${episode}`, target: `ml/${name}` });
    expect(kube.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /apis/batch/v1/namespaces/ml/cronjobs/cancer-train', 'POST /apis/batch/v1/namespaces/ml/jobs']);
    expect(kube.requests.every((r) => r.headers.authorization === 'Bearer sa-token-123')).toBe(true);
    expect(jobs).toHaveLength(1);
    const job = jobs[0] as ReturnType<typeof jobFromCronJob> & { metadata: Record<string, unknown>; spec: unknown };
    expect(job.spec).toEqual(CRONJOB.spec.jobTemplate.spec);
    expect(job.metadata).toEqual({
      name,
      namespace: 'ml',
      labels: CRONJOB.spec.jobTemplate.metadata.labels,
      annotations: {
        'cronjob.kubernetes.io/instantiate': 'manual',
        'cdk-mlops.io/config-hash': 'abc123',
        'cdk-mlops.io/trigger': 'dataset_drift',
        'cdk-mlops.io/episode': episode,
        'cdk-mlops.io/model': 'cancer',
        'cdk-mlops.io/model-version': '1',
      },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'cancer-train', uid: CRONJOB.metadata.uid, controller: true }],
    });
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);

    // the same episode an hour later: nothing, not even a read of the CronJob
    const r2 = await run(T0 + 60 * MIN);
    expect(r2.actions.retrain.outcome).toBe('already_triggered');
    // the drift clears, then returns: a new episode, but within the 6h cooldown
    writeTraffic(path.join(root, 'logs'), 'cancer', version, clean.rows, clean.target, T0 + 150 * MIN, 'clean-1');
    expect((await run(T0 + 170 * MIN)).actions.retrain.outcome).toBe('not_needed');
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 + 280 * MIN, 'drift-2');
    const r4 = await run(T0 + 300 * MIN);
    expect(r4.conditions.dataset_drift).toBe(true);
    expect(r4.actions.retrain).toMatchObject({ outcome: 'cooldown', until: new Date(T0 + 360 * MIN).toISOString() });
    expect(kube.requests).toHaveLength(2);
    expect(jobs).toHaveLength(1);

    // after the cooldown, the still-open episode starts its one retraining
    const r5 = await run(T0 + 370 * MIN);
    expect(r5.actions.retrain.outcome).toBe('triggered');
    expect(jobs).toHaveLength(2);
    expect(kube.requests).toHaveLength(4);
  });

  test('a lost state file cannot start a second Job for the same episode (the API answers 409)', async () => {
    jobs = [];
    const { root, version } = await setup('kube-409');
    const tokenFile = path.join(root, 'token');
    fs.writeFileSync(tokenFile, 'sa-token-456');
    const config = testConfig(root, 'cancer', { retrain: { kubernetes: { cronJob: 'cancer-train', namespace: 'ml', apiServer: api, tokenFile } } });
    const drifted = traffic(true);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 - 20 * MIN);
    expect((await runMonitorOnce(config, depsFor(config, () => T0))).result.actions.retrain.outcome).toBe('triggered');
    fs.rmSync(path.join(root, 'reports', 'monitor-state.json'));
    const again = (await runMonitorOnce(config, depsFor(config, () => T0))).result.actions.retrain;
    expect(again.outcome).toBe('already_triggered');
    expect(jobs).toHaveLength(1);
  });

  test('API errors are reported in the result, and the run still completes', async () => {
    const { root, version } = await setup('kube-err');
    const tokenFile = path.join(root, 'token');
    fs.writeFileSync(tokenFile, 't');
    const config = testConfig(root, 'cancer', { retrain: { kubernetes: { cronJob: 'no-such-cronjob', namespace: 'ml', apiServer: api, tokenFile } } });
    const drifted = traffic(true);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 - 20 * MIN);
    const r = (await runMonitorOnce(config, depsFor(config, () => T0))).result;
    expect(r.actions.retrain).toMatchObject({ outcome: 'failed', error: 'GET /apis/batch/v1/namespaces/ml/cronjobs/no-such-cronjob answered 404: not found' });
    const missingToken = testConfig(root, 'cancer', { stateUri: path.join(root, 'state-2.json'), retrain: { kubernetes: { cronJob: 'cancer-train', namespace: 'ml', apiServer: api, tokenFile: path.join(root, 'nope') } } });
    const r2 = (await runMonitorOnce(missingToken, depsFor(missingToken, () => T0))).result;
    expect(r2.actions.retrain.outcome).toBe('failed');
    expect(r2.actions.retrain.error).toContain(`cannot read the service-account token ${path.join(root, 'nope')}`);
  });
});

describe('retraining locally: a trigger record and a command', () => {
  test('writes the record, runs the command with the record path, and honours the cooldown', async () => {
    const { root, version } = await setup('local');
    const records = path.join(root, 'retrain');
    const marker = path.join(root, 'command-ran.txt');
    const config = testConfig(root, 'cancer', {
      retrain: {
        cooldown: '1d',
        local: { recordDir: records, command: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, process.env.CDK_MLOPS_RETRAIN_RECORD)`] },
      },
    });
    const drifted = traffic(true);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 - 20 * MIN);
    const r1 = (await runMonitorOnce(config, depsFor(config, () => T0))).result;
    expect(r1.actions.retrain).toMatchObject({ outcome: 'triggered', exitCode: 0 });
    const files = fs.readdirSync(records);
    expect(files).toHaveLength(1);
    const record = JSON.parse(fs.readFileSync(path.join(records, files[0]), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ schema: 'cdk-mlops.monitor.retrain/v1', model: 'cancer', version: 1, condition: 'dataset_drift', episode: `dataset_drift-v1-${new Date(T0).toISOString()}` });
    expect(fs.readFileSync(marker, 'utf8')).toBe(path.join(records, files[0]));
    const r2 = (await runMonitorOnce(config, depsFor(config, () => T0 + 30 * MIN))).result;
    expect(r2.actions.retrain.outcome).toBe('already_triggered');
    expect(fs.readdirSync(records)).toHaveLength(1);
  });

  test('a failing command is reported with its exit code', async () => {
    const { root, version } = await setup('local-fail');
    const config = testConfig(root, 'cancer', { retrain: { local: { recordDir: path.join(root, 'retrain'), command: [process.execPath, '-e', 'process.exit(7)'] } } });
    const drifted = traffic(true);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 - 20 * MIN);
    const r = (await runMonitorOnce(config, depsFor(config, () => T0))).result;
    expect(r.actions.retrain).toMatchObject({ outcome: 'failed', exitCode: 7, error: 'command exited with 7' });
  });
});

describe('metrics for CronJob mode: a textfile and a Pushgateway', () => {
  const gateway = new Recorder();
  let url: string;
  beforeAll(async () => {
    url = await gateway.start();
  });
  afterAll(() => gateway.stop());

  test('each run writes the exposition atomically and replaces the model\'s group on the gateway (PUT)', async () => {
    const { root, version } = await setup('cronjob-metrics');
    const metricsFile = path.join(root, 'textfile', 'cdk_mlops_monitor.prom');
    const config = testConfig(root, 'cancer', { output: { reportDir: path.join(root, 'reports'), metricsFile, pushgateway: url } });
    const drifted = traffic(true);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, drifted.rows, drifted.target, T0 - 20 * MIN);
    await runMonitorOnce(config, depsFor(config, () => T0));
    const text = fs.readFileSync(metricsFile, 'utf8');
    expect(text).toMatch(/^cdk_mlops_dataset_drift\{model="cancer",version="1"\} 1$/m);
    expect(text).toMatch(/^cdk_mlops_monitor_last_success_timestamp_seconds\{model="cancer"\} 1748854800$/m);
    expect(fs.readdirSync(path.dirname(metricsFile))).toEqual(['cdk_mlops_monitor.prom']);
    expect(gateway.requests).toHaveLength(1);
    expect(gateway.requests[0].method).toBe('PUT');
    expect(gateway.requests[0].url).toBe('/metrics/job/cdk-mlops-monitor/model/cancer');
    expect(gateway.requests[0].body).toContain('cdk_mlops_dataset_drift{model="cancer",version="1"} 1');
  });

  test('an unreachable gateway is logged, and the run still completes', async () => {
    const { root, version } = await setup('cronjob-nogw');
    const config = testConfig(root, 'cancer', { output: { reportDir: path.join(root, 'reports'), pushgateway: 'http://127.0.0.1:9' } });
    const clean = traffic(false);
    writeTraffic(path.join(root, 'logs'), 'cancer', version, clean.rows, clean.target, T0 - 20 * MIN);
    const deps = depsFor(config, () => T0);
    const { result } = await runMonitorOnce(config, deps);
    expect(result.dataset.datasetDrift).toBe(false);
    expect(deps.lines.some((l) => String(l.msg).startsWith('pushing metrics to the Pushgateway failed'))).toBe(true);
  });
});

import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { LIVE_ROWS, registerModel, rowsOf, tmpDir, writeTraffic } from './support';
import { main } from '../../../src/cli/main';

const ROOT = path.join(__dirname, '..', '..', '..');

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await fn();
    return { code, out: out.mock.calls.map((c) => String(c[0])).join(''), err: err.mock.calls.map((c) => String(c[0])).join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

async function project(name: string, shifted: boolean): Promise<string> {
  const root = tmpDir(name);
  const version = await registerModel(path.join(root, 'registry'), 'cancer');
  const { features, target } = rowsOf(LIVE_ROWS);
  const rows = shifted ? features.map((r) => ({ ...r, mean_radius: r.mean_radius * 1.5, worst_radius: r.worst_radius * 1.5, mean_area: r.mean_area * 2 })) : features;
  writeTraffic(path.join(root, 'logs'), 'cancer', version, rows, target, Date.now() - 10 * 60_000);
  return root;
}

describe('cdk-mlops monitor', () => {
  test('--help prints the usage and exits 0', async () => {
    const r = await capture(() => main(['monitor', '--help']));
    expect(r.code).toBe(0);
    expect(r.out).toContain('usage: cdk-mlops monitor [--config <file>] [options]');
    expect(r.out).toContain('--fail-on-drift');
  });

  test('--check prints the validated configuration with every default', async () => {
    const r = await capture(() => main(['monitor', '--check', '--model', 'fraud', '--registry', 'reg', '--logs', 's3://logs/prod', '--version', '7']));
    expect(r.code).toBe(0);
    const config = JSON.parse(r.out) as Record<string, unknown>;
    expect(config).toMatchObject({
      model: 'fraud',
      version: 7,
      registry: 'reg',
      logs: 's3://logs/prod',
      window: '24h',
      once: true,
      interval: '15m',
      drift: { datasetDriftShare: 0.5, thresholds: { ks: 0.05, chisquare: 0.05, z: 0.05, wasserstein: 0.1, jensenshannon: 0.1, psi: 0.1 }, minCurrentValues: 30 },
      state: { mode: 'auto', exactMaxValues: 100000, sketchK: 1000, categoryCap: 10000 },
      quality: { maxMissingRate: 0.1, maxTypeErrorRate: 0.01, maxOutOfRangeRate: 0.05, maxUnknownCategoryRate: 0.05 },
      performance: { minLabeledRows: 50, maxDegradation: 0.1 },
      output: { reportDir: './monitor-reports', html: true, keepReports: 100 },
      server: { host: '127.0.0.1', port: 9108 },
    });
  });

  test('--check masks the webhook URL and credentials in URLs', async () => {
    const env = { ...process.env, CDK_MLOPS_MONITOR_ALERTS__WEBHOOK: 'https://hooks.slack.com/services/T1/B2/secret', CDK_MLOPS_MONITOR_OUTPUT__PUSHGATEWAY: 'https://user:pass@push.example.com' };
    const saved = process.env;
    process.env = env;
    try {
      const r = await capture(() => main(['monitor', '--check', '--model', 'm', '--registry', 'r', '--logs', 'l']));
      expect(r.code).toBe(0);
      expect(r.out).not.toContain('secret');
      expect(r.out).not.toContain('pass');
      expect(JSON.parse(r.out)).toMatchObject({ alerts: { webhook: '<redacted>' }, output: { pushgateway: 'https://***@push.example.com' } });
    } finally {
      process.env = saved;
    }
  });

  test.each([
    [['--model', 'm', '--registry', 'r', '--logs', 'l', '--window', '5 minutes'], '\'window\' ("5 minutes"): must be a duration such as 30s, 15m, 6h or 7d'],
    [['--registry', 'r', '--logs', 'l'], '\'model\' (missing)'],
    [['--model', 'm', '--registry', 'r', '--logs', 'l', '--mode', 'fast'], '\'state.mode\' ("fast")'],
    [['--model', 'm', '--once', '--continuous'], '--once/--continuous: give one of them, not both'],
    [['--model', 'm', '--bogus'], "Unknown option '--bogus'"],
  ])('bad input %j exits 2 naming the field', async (args, message) => {
    const r = await capture(() => main(['monitor', ...args]));
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  test('a config file with a retrain block that sets both targets is refused', async () => {
    const dir = tmpDir('cli-bad');
    const file = path.join(dir, 'monitor.yaml');
    fs.writeFileSync(file, YAML.stringify({ model: 'm', registry: 'r', logs: 'l', retrain: { local: { recordDir: 'x' }, kubernetes: { cronJob: 'train' } } }));
    const r = await capture(() => main(['monitor', '--config', file]));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`invalid config file ${file}`);
    expect(r.err).toContain('set exactly one of retrain.kubernetes and retrain.local');
  });

  test('--once runs, writes the report, exits 0; --fail-on-drift exits 3 on drift and 0 without', async () => {
    const drifted = await project('cli-once', true);
    const args = (root: string) => ['monitor', '--model', 'cancer', '--registry', path.join(root, 'registry'), '--logs', path.join(root, 'logs'), '--report-dir', path.join(root, 'reports'), '--window', '1h'];
    const r1 = await capture(() => main(args(drifted)));
    expect(r1.code).toBe(0);
    expect(r1.err).toMatch(/^dataset drift: no \(3\/30 features, share 0\.100\); prediction drift: yes; performance decay: yes; report: \S+\/reports\/cancer-v1-\d{8}T\d{6}Z\.html\n$/);
    expect(fs.existsSync(path.join(drifted, 'reports', 'latest.html'))).toBe(true);
    expect((await capture(() => main([...args(drifted), '--fail-on-drift']))).code).toBe(3);
    const clean = await project('cli-clean', false);
    expect((await capture(() => main([...args(clean), '--fail-on-drift']))).code).toBe(0);
  });

  test('a run that cannot read the registry exits 1 with the reason', async () => {
    const dir = tmpDir('cli-noreg');
    const r = await capture(() => main(['monitor', '--model', 'cancer', '--registry', path.join(dir, 'none'), '--logs', dir, '--report-dir', path.join(dir, 'reports')]));
    expect(r.code).toBe(1);
    expect(r.err).toContain('cdk-mlops monitor: model \'cancer\' has no versions in');
  });
});

describe('cdk-mlops monitor --continuous (a real process)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  test('serves /metrics, /report, /readyz; runs on its interval; stops cleanly on SIGTERM', async () => {
    const root = await project('cli-continuous', true);
    const file = path.join(root, 'monitor.yaml');
    fs.writeFileSync(file, YAML.stringify({
      model: 'cancer',
      registry: path.join(root, 'registry'),
      logs: path.join(root, 'logs'),
      window: '1h',
      once: false,
      interval: '1s',
      output: { reportDir: path.join(root, 'reports') },
      server: { host: '127.0.0.1', port: 0 },
    }));
    child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', `require('./src/cli/main').main(['monitor', '--config', ${JSON.stringify(file)}]).then((c) => { process.exitCode = c; })`], {
      cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    const deadline = Date.now() + 30_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline) {
      url = /monitor listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 100));
    }
    expect(url).toBeDefined();
    let metrics = '';
    while (Date.now() < deadline && !/cdk_mlops_monitor_runs_total\{model="cancer",outcome="success"\} [2-9]/.test(metrics)) {
      metrics = await (await fetch(`${url}/metrics`)).text();
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(metrics).toMatch(/cdk_mlops_monitor_runs_total\{model="cancer",outcome="success"\} [2-9]/);
    expect(metrics).toMatch(/cdk_mlops_drift_detected\{model="cancer",version="1",feature="mean_radius",method="ks"\} 1/);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const report = await fetch(`${url}/report`);
    expect(report.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await report.text()).toContain('<svg class="chart" data-feature="mean_radius"');
    const json = await (await fetch(`${url}/report.json`)).json() as { dataset: { driftedColumns: string[] } };
    expect(json.dataset.driftedColumns).toEqual(['mean_radius', 'mean_area', 'worst_radius']);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('stopping: finishing the run in progress');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

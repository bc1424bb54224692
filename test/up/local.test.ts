import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lib from '../../src';
import { definePlatform } from './fixtures/platform';
import { featureRegistrySchema } from '../../src/runtime/config/features';
import { MonitorConfigSchema } from '../../src/runtime/config/monitor';
import { ServeConfigSchema } from '../../src/runtime/config/serve';
import { TrainConfigSchema } from '../../src/runtime/config/train';
import { nextCronTime } from '../../src/up/local-platform';
import { LocalSettings, localizeWorkload, localObjectPath, localServiceUrl, seedInput } from '../../src/up/localize';
import { chooseEnvironment, discoverWorkloads, EnvironmentWorkloads, roleOf, RuntimeWorkload } from '../../src/up/workloads';

const FIXTURES = path.join(__dirname, 'fixtures');

describe('discovering the runtime workloads of a synthesized environment', () => {
  let env: EnvironmentWorkloads;
  const byId = (id: string) => env.workloads.find((w) => w.id === id)!;
  beforeAll(() => {
    const app = definePlatform(lib, path.join(FIXTURES, 'pins.json'));
    env = discoverWorkloads(chooseEnvironment(app.synthesizeAll()));
  });

  test('every pod template running the runtime image, with its role, arguments and mounted configuration', () => {
    expect(env.environment).toBe('dev');
    expect(env.runtimeImage).toBe(lib.RuntimeImage.default().reference);
    const train = env.workloads.filter((w) => w.role === 'train');
    expect(env.workloads.map((w) => `${w.id} ${w.role}`)).toEqual([
      'CronJob/up-test-features/clinic-materialize-tumor features-materialize',
      'CronJob/up-test-monitoring/cancer-drift monitor',
      'CronJob/up-test-training/cancer-train train',
      'Deployment/up-test-features/clinic-server features-serve',
      `${train.find((w) => w.kind === 'Job')!.id} train`,
      'Rollout/up-test-serving/cancer serve',
    ]);
    // Each configuration is the runtime's own schema's input: it validates.
    expect(ServeConfigSchema.safeParse(byId('Rollout/up-test-serving/cancer').config).success).toBe(true);
    expect(MonitorConfigSchema.safeParse(byId('CronJob/up-test-monitoring/cancer-drift').config).success).toBe(true);
    for (const t of train) expect(TrainConfigSchema.safeParse(t.config).success).toBe(true);
    expect(featureRegistrySchema.safeParse(byId('Deployment/up-test-features/clinic-server').config).success).toBe(true);
  });

  test('where the configuration comes from: a ConfigMap, or a pod annotation through the downward API', () => {
    const serve = byId('Rollout/up-test-serving/cancer');
    expect(serve.configSource).toBe('annotation cdk-mlops.io/serve-config');
    expect(serve.config).toMatchObject({ models: [{ name: 'cancer', ref: 1 }], port: 8080 });
    expect(byId('CronJob/up-test-monitoring/cancer-drift').configSource).toBe('ConfigMap up-test-monitoring/cancer-drift-config');
  });

  test('ports, readiness, Secrets mounted or in the environment, schedules', () => {
    const serve = byId('Rollout/up-test-serving/cancer');
    expect(serve.ports).toEqual([{ name: 'http', port: 8080 }]);
    expect(serve.readinessPath).toBe('/v2/health/ready');
    expect(Object.values(serve.secretMounts)).toEqual(['cancer-tokens']);
    const server = byId('Deployment/up-test-features/clinic-server');
    expect(Object.keys(server.secretEnv).sort()).toEqual(['CDK_MLOPS_FEATURES_ONLINE_STORE__URL', 'REDIS_AUTH_TOKEN']);
    expect(byId('CronJob/up-test-training/cancer-train').schedule).toEqual({ cron: '0 0 1 1 *', suspended: true });
    expect(byId('CronJob/up-test-monitoring/cancer-drift').schedule).toEqual({ cron: '*/15 * * * *', suspended: false });
  });

  test('roles from the arguments', () => {
    expect(roleOf(['features', 'serve', '--config', 'x'])).toBe('features-serve');
    expect(roleOf(['features', 'build-training-set'])).toBe('other');
    expect(roleOf([])).toBe('other');
  });

  test('a configuration volume naming a ConfigMap the environment lacks is an error naming both', () => {
    const synthesis = chooseEnvironment(definePlatform(lib, path.join(FIXTURES, 'pins.json')).synthesizeAll());
    const broken = {
      ...synthesis,
      kubernetes: Object.fromEntries(Object.entries(synthesis.kubernetes).map(([f, objs]) => [f, objs.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === 'cancer-drift-config'))])),
    };
    expect(() => discoverWorkloads(broken)).toThrow('CronJob/up-test-monitoring/cancer-drift: mounts ConfigMap up-test-monitoring/cancer-drift-config at /etc/cdk-mlops, which the environment does not define');
  });

  test('the environment: --env, else dev, else the first; an unknown one lists the others', () => {
    const mk = (e: string) => ({ environment: e, terraform: {}, kubernetes: {}, inventory: {}, suppressed: [] });
    expect(chooseEnvironment([mk('prod'), mk('dev')]).environment).toBe('dev');
    expect(chooseEnvironment([mk('prod'), mk('staging')]).environment).toBe('prod');
    expect(() => chooseEnvironment([mk('prod'), mk('dev')], 'qa')).toThrow("--env 'qa': the program has no such environment; it has 'prod', 'dev'");
  });
});

describe('rewriting a workload for one machine', () => {
  let env: EnvironmentWorkloads;
  let dir: string;
  let settings: LocalSettings;
  const w = (id: string) => env.workloads.find((x) => x.id === id)!;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-localize-'));
    env = discoverWorkloads(chooseEnvironment(definePlatform(lib, path.join(FIXTURES, 'pins.json')).synthesizeAll()));
    settings = {
      stateDir: dir,
      runId: 'r1',
      redisUrl: 'redis://127.0.0.1:6379',
      alertWebhook: 'http://127.0.0.1:5555/',
      ports: new Map([
        ['Rollout/up-test-serving/cancer', new Map([[8080, 41001]])],
        ['Deployment/up-test-features/clinic-server', new Map([[6566, 41002]])],
      ]),
      workloads: env.workloads,
      services: env.services,
    };
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const bucket = () => String(env.inventory.artifactBucket);

  test('serve: S3 locations under the state, loopback port, a generated token file, no drain delay, fast reloads', () => {
    const l = localizeWorkload(w('Rollout/up-test-serving/cancer'), settings);
    const c = l.config as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(41001);
    expect(c.registry).toBe(path.join(dir, 's3', bucket(), 'registry'));
    expect(c.predictionLog.uri).toBe(path.join(dir, 's3', bucket(), 'predictions', 'cancer'));
    expect(c.predictionLog.s3).toBeUndefined();
    expect(c.auth.tokensFile).toBe(path.join(dir, 'secrets', 'up-test-serving', 'cancer-tokens', 'tokens'));
    expect(fs.readFileSync(c.auth.tokensFile, 'utf8')).toContain(l.token!);
    expect((fs.statSync(c.auth.tokensFile).mode & 0o777).toString(8)).toBe('600');
    expect(c.shutdown.drainDelayMs).toBe(0);
    expect(c.reload).toEqual({ aliasPollSeconds: 2, configPollMs: 500 });
    expect(ServeConfigSchema.safeParse(c).success).toBe(true);
    expect(l.args).toEqual(['serve', '--config', l.configFile]);
    expect(l.env.CDK_MLOPS_CONFIG).toBe(l.configFile);
    expect(l.env.TMPDIR).toBeUndefined();
    expect(JSON.parse(fs.readFileSync(l.configFile!, 'utf8'))).toEqual(c);
    expect(l.url).toBe('http://127.0.0.1:41001');
    expect(l.readyUrl).toBe('http://127.0.0.1:41001/v2/health/ready');
    expect(l.notes).toEqual([]);
    // A second rewrite keeps the token.
    expect(localizeWorkload(w('Rollout/up-test-serving/cancer'), settings).token).toBe(l.token);
  });

  test('monitor: reports and metrics under the state, alerts to the inbox, retraining as a local record of the CronJob to run', () => {
    const l = localizeWorkload(w('CronJob/up-test-monitoring/cancer-drift'), settings);
    const c = l.config as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(c.output.reportDir).toBe(path.join(dir, 'monitor', 'cancer-drift', 'reports'));
    expect(c.output.metricsFile).toBe(path.join(dir, 'monitor', 'cancer-drift', 'metrics.prom'));
    expect(c.output.pushgateway).toBeUndefined();
    expect(c.alerts.webhook).toBe('http://127.0.0.1:5555/');
    expect(c.retrain.kubernetes).toBeUndefined();
    expect(c.retrain.local).toEqual({ recordDir: path.join(dir, 'retrain', 'cancer-drift') });
    expect(l.retrain).toEqual({ cronJob: 'cancer-train', namespace: 'up-test-training', recordDir: path.join(dir, 'retrain', 'cancer-drift') });
    expect(c.stateUri).toBe(path.join(dir, 's3', bucket(), 'monitoring', 'cancer-drift', 'state.json'));
    expect(MonitorConfigSchema.safeParse(c).success).toBe(true);
    // The Pushgateway is dropped, not reported as unreachable.
    expect(l.notes).toEqual([]);
  });

  test('train: registry and data under the state, the data recorded as an input to seed', () => {
    const l = localizeWorkload(w('CronJob/up-test-training/cancer-train'), settings);
    expect(l.config).toMatchObject({ registry: path.join(dir, 's3', bucket(), 'registry'), data: { uri: path.join(dir, 's3', bucket(), 'datasets', 'breast_cancer.csv') } });
    expect(l.inputs).toEqual([{ localPath: path.join(dir, 's3', bucket(), 'datasets', 'breast_cancer.csv'), uri: `s3://${bucket()}/datasets/breast_cancer.csv`, what: 'training data of CronJob/up-test-training/cancer-train' }]);
    expect(l.args).toEqual(['train', '--progress', 'json']);
    expect(l.env.CDK_MLOPS_CONFIG).toBe(l.configFile);
    expect(l.url).toBeUndefined();
  });

  test('features: the local Redis under a prefix of this run (credentials from Secrets not needed), or in process without Redis', () => {
    const l = localizeWorkload(w('Deployment/up-test-features/clinic-server'), settings);
    const c = l.config as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(c.onlineStore).toEqual({ type: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: expect.stringMatching(/up-r1:$/) });
    expect(c.featureServer).toMatchObject({ host: '127.0.0.1', port: 41002 });
    expect(c.offlineStore.root).toBe(path.join(dir, 's3', bucket(), 'features', 'clinic'));
    expect(l.inputs).toEqual([{ localPath: path.join(dir, 's3', bucket(), 'features', 'clinic', 'tumor'), uri: `s3://${bucket()}/features/clinic/tumor`, what: "source of feature view 'tumor'" }]);
    expect(l.notes).toEqual([]);
    expect(l.readyUrl).toBe('http://127.0.0.1:41002/health');
    expect(featureRegistrySchema.safeParse(c).success).toBe(true);
    const memory = localizeWorkload(w('Deployment/up-test-features/clinic-server'), { ...settings, redisUrl: undefined });
    expect(memory.config!.onlineStore).toEqual({ type: 'memory', refreshSeconds: 0 });
    expect(memory.notes).toEqual(["Redis at 127.0.0.1:6379 does not answer: the online store runs in the feature server's process"]);
  });

  test('an in-cluster URL of a Service whose pods run here becomes the loopback address; others are reported', () => {
    expect(localServiceUrl('http://clinic-server.up-test-features.svc.cluster.local:6566/get-online-features', settings))
      .toBe('http://127.0.0.1:41002/get-online-features');
    expect(localServiceUrl('http://cancer.up-test-serving.svc:8080', settings)).toBe('http://127.0.0.1:41001');
    expect(localServiceUrl('http://prometheus-operated.monitoring.svc:9090', settings)).toBeUndefined();
    expect(localServiceUrl('https://example.com/x', settings)).toBeUndefined();
    const serve = w('Rollout/up-test-serving/cancer');
    const enriched: RuntimeWorkload = { ...serve, config: { ...serve.config, features: { url: 'http://clinic-server.up-test-features.svc.cluster.local:6566', featureService: 's', entityInputs: {} }, alertsTo: 'http://alertmanager.monitoring.svc:9093' } };
    const l = localizeWorkload(enriched, settings);
    expect((l.config!.features as { url: string }).url).toBe('http://127.0.0.1:41002');
    expect(l.notes).toEqual(["'alertsTo' points at http://alertmanager.monitoring.svc:9093, which does not run locally"]);
  });

  test('object URIs map under <state>/s3; a key with .. is refused', () => {
    expect(localObjectPath('/st', 's3://b/k/x.csv')).toBe('/st/s3/b/k/x.csv');
    expect(localObjectPath('/st', 's3://b/prefix/')).toBe('/st/s3/b/prefix/');
    expect(localObjectPath('/st', '/local/path')).toBeUndefined();
    expect(() => localObjectPath('/st', 's3://b/../etc/passwd')).toThrow("refusing the object URI s3://b/../etc/passwd: its key contains '..'");
  });

  test('inputs are seeded from --data directories by key or file name; a missing one names where it looked', () => {
    const seed = path.join(dir, 'seed');
    fs.mkdirSync(path.join(seed, 'datasets'), { recursive: true });
    fs.writeFileSync(path.join(seed, 'datasets', 'a.csv'), 'x\n1\n');
    fs.mkdirSync(path.join(seed, 'tumor'), { recursive: true });
    fs.writeFileSync(path.join(seed, 'tumor', 'part-0.parquet'), 'p');
    const a = { localPath: path.join(dir, 'st', 's3', 'b', 'datasets', 'a.csv'), uri: 's3://b/datasets/a.csv', what: 'training data' };
    expect(seedInput(a, [seed])).toBe(path.join(seed, 'datasets', 'a.csv'));
    expect(fs.readFileSync(a.localPath, 'utf8')).toBe('x\n1\n');
    expect(seedInput(a, [seed])).toBe('present');
    const folder = { localPath: path.join(dir, 'st', 's3', 'b', 'features', 'clinic', 'tumor'), uri: 's3://b/features/clinic/tumor', what: 'source' };
    expect(seedInput(folder, [seed])).toBe(path.join(seed, 'tumor'));
    expect(fs.readdirSync(folder.localPath)).toEqual(['part-0.parquet']);
    const missing = { localPath: path.join(dir, 'st', 'nope.csv'), uri: 's3://b/data/nope.csv', what: 'training data of X' };
    expect(() => seedInput(missing, [seed])).toThrow(`training data of X s3://b/data/nope.csv has no local copy: put it at ${missing.localPath}, or pass --data <dir> with the file at <dir>/data/nope.csv or <dir>/nope.csv (looked at: ${path.join(seed, 'data', 'nope.csv')}, ${path.join(seed, 'nope.csv')})`);
  });
});

describe('cron schedules locally', () => {
  const at = (iso: string) => Date.parse(iso);
  test('the next matching minute, in UTC', () => {
    expect(new Date(nextCronTime('*/15 * * * *', at('2024-03-01T10:07:30Z'))!).toISOString()).toBe('2024-03-01T10:15:00.000Z');
    expect(new Date(nextCronTime('*/15 * * * *', at('2024-03-01T10:15:00Z'))!).toISOString()).toBe('2024-03-01T10:30:00.000Z');
    expect(new Date(nextCronTime('0 3 * * 1', at('2024-03-01T10:00:00Z'))!).toISOString()).toBe('2024-03-04T03:00:00.000Z');
    expect(new Date(nextCronTime('@hourly', at('2024-12-31T23:59:00Z'))!).toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(new Date(nextCronTime('0 0 29 2 *', at('2024-02-01T00:00:00Z'))!).toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });

  test('a schedule that does not come within a year gives nothing', () => {
    expect(nextCronTime('0 0 29 2 *', at('2024-03-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('an external trainer on a GPU pool, in an image built FROM the runtime image', () => {
  test('is run locally (its arguments and configuration are the runtime\'s), with notes on the GPUs and the command', () => {
    const app = new lib.MlApp({ outdir: '/nonexistent-never-written' });
    const platform = new lib.MlPlatform(app, 'dev', { platformName: 'ext', environment: 'dev', region: 'eu-west-1', account: '123456789012' });
    const pool = new lib.GpuTrainingPool(platform, 'gpu');
    const registry = new lib.ModelRegistry(platform, 'registry');
    new lib.TrainingPipeline(platform, 'big', {
      model: registry.model('big'),
      data: lib.TrainingData.fromPlatformBucket('datasets/big.parquet'),
      external: { command: 'python train.py', task: 'classification' },
      image: lib.RuntimeImage.fromTag('123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer', '1.0'),
      compute: lib.TrainingCompute.gpu(pool, { gpus: 2 }),
    });
    const env = discoverWorkloads(chooseEnvironment(app.synthesizeAll()));
    const train = env.workloads.filter((w) => w.role === 'train');
    expect(train.map((w) => [w.kind, w.gpus, w.image])).toEqual([
      ['CronJob', 2, '123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer:1.0'],
      ['Job', 2, '123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer:1.0'],
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-ext-'));
    const l = localizeWorkload(train[1], { stateDir: dir, runId: 'r', ports: new Map(), workloads: env.workloads, services: env.services });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(l.notes).toEqual([
      'requests 2 GPU(s): runs here without them',
      "runs the external trainer 'python train.py' on this machine (in the cluster: in image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer:1.0)",
    ]);
  });
});

describe('a GPU endpoint, in a CUDA build of the runtime image', () => {
  test("is run locally on the CPU: its 'cuda' models become 'cpu', with notes", () => {
    const app = new lib.MlApp({ outdir: '/nonexistent-never-written' });
    const platform = new lib.MlPlatform(app, 'dev', { platformName: 'gpu', environment: 'dev', region: 'eu-west-1', account: '123456789012' });
    const pool = new lib.GpuTrainingPool(platform, 'gpu');
    const registry = new lib.ModelRegistry(platform, 'registry');
    const image = lib.RuntimeImage.fromTag('123456789012.dkr.ecr.eu-west-1.amazonaws.com/runtime', '0.1.0-cuda12');
    new lib.ModelEndpoint(platform, 'fraud', {
      model: registry.model('fraud').version(1),
      gateway: lib.GatewayRef.fromAttributes({ name: 'public', namespace: 'gateways' }),
      resources: { gpus: 1 },
      placement: lib.GpuPlacement.pool(pool),
      image,
      scaling: lib.EndpointScaling.cpu({ minReplicas: 1, maxReplicas: 2 }),
    });
    const env = discoverWorkloads(chooseEnvironment(app.synthesizeAll()));
    const serve = env.workloads.find((x) => x.role === 'serve')!;
    expect([serve.id, serve.gpus, serve.image]).toEqual(['Deployment/gpu-serving/fraud', 1, image.reference]);
    expect((serve.config as { models: { executionProvider: string }[] }).models[0].executionProvider).toBe('cuda');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-gpu-'));
    const l = localizeWorkload(serve, { stateDir: dir, runId: 'r', ports: new Map([[serve.id, new Map([[8080, 41010]])]]), workloads: env.workloads, services: env.services });
    fs.rmSync(dir, { recursive: true, force: true });
    const models = (l.config as { models: Record<string, unknown>[] }).models;
    expect(models.map((m) => [m.name, m.executionProvider, 'cudaDeviceId' in m])).toEqual([['fraud', 'cpu', false]]);
    expect(ServeConfigSchema.safeParse(l.config).success).toBe(true);
    expect(l.notes).toEqual([
      "model 'fraud' runs on onnxruntime's CPU execution provider here (in the cluster: 'cuda')",
      'requests 1 GPU(s): runs here without them',
    ]);
  });
});

/**
 * The showcase: a whole ML platform for the breast cancer data set, in dev and prod.
 *
 *   npx cdk-mlops synth --app examples/breast-cancer/main.ts      # both planes, both environments
 *   npx cdk-mlops up --app examples/breast-cancer/main.ts --once  # the whole loop on this machine
 *
 * Features are materialized from Parquet into Redis; a pipeline trains a logistic regression
 * and gates it against the champion; the endpoint serves the pinned version with a canary and
 * looks the 30 measurements up by patient id; a drift monitor alerts and starts a retraining.
 */
import * as path from 'node:path';
import {
  AnalysisMetric, Cluster, DeploymentStrategy, DriftMonitor, EndpointScaling, FeatureSource, FeatureStore, GatewayRef,
  GpuCapacity, GpuTrainingPool, MlApp, MlPlatform, ModelEndpoint, ModelPins, ModelRegistry, MonitorSchedule, Network,
  OnlineStore, StateBackend, TrainingData, TrainingPipeline,
} from 'cdk-mlops';

const MEASURES = ['radius', 'texture', 'perimeter', 'area', 'smoothness', 'compactness', 'concavity', 'concave_points', 'symmetry', 'fractal_dimension'];
const FEATURES = [...MEASURES.map((m) => `mean_${m}`), ...MEASURES.map((m) => `${m}_error`), ...MEASURES.map((m) => `worst_${m}`)];

/** What differs between the environments: size, exposure, state. */
const ENVIRONMENTS = {
  dev: {
    network: Network.create({ cidr: '10.10.0.0/16', availabilityZones: 2, natGateways: 1 }),
    cluster: Cluster.create({ publicAccessCidrs: ['203.0.113.0/24'], systemNodes: { minSize: 2, maxSize: 3 } }),
    stateBackend: StateBackend.local(),
    replicas: { minReplicas: 1, maxReplicas: 3 },
    redisNodes: 2,
  },
  prod: {
    network: Network.create({ cidr: '10.20.0.0/16', availabilityZones: 3 }),
    cluster: Cluster.create({ systemNodes: { instanceTypes: ['m7i.xlarge'], minSize: 3, maxSize: 9 }, logRetentionDays: 365 }),
    stateBackend: StateBackend.s3({ bucket: 'acme-terraform-state' }),
    replicas: { minReplicas: 3, maxReplicas: 20 },
    redisNodes: 3,
  },
};

const pins = ModelPins.fromFile(path.join(__dirname, 'pins.json'));
const app = new MlApp();

for (const [environment, env] of Object.entries(ENVIRONMENTS)) {
  const platform = new MlPlatform(app, environment, {
    platformName: 'oncology',
    environment,
    region: 'eu-west-1',
    account: '123456789012',
    network: env.network,
    cluster: env.cluster,
    stateBackend: env.stateBackend,
    tags: { 'cost-center': 'oncology-ml' },
  });

  // Features: the 30 cell-nucleus measurements of each patient, offline in Parquet, online in Redis.
  const store = new FeatureStore(platform, 'clinic', { onlineStore: OnlineStore.redis({ nodeCount: env.redisNodes }) });
  const patient = store.addEntity('patient', { joinKey: 'patient_id', joinKeyType: 'int64' });
  const tumor = store.addFeatureView('tumor', {
    entities: [patient],
    schema: FEATURES.map((name) => ({ name, type: 'float64' as const })),
    source: FeatureSource.parquet('tumor'),
    schedule: '@hourly',
  });
  const tumorFeatures = store.addFeatureService('tumor_features', { features: [tumor] });

  // GPU capacity for the team's own (external) trainers: Karpenter, spot first, scales to zero.
  new GpuTrainingPool(platform, 'gpu', {
    capacity: GpuCapacity.karpenter({ instanceFamilies: ['g6'], maxGpus: 8 }),
    teams: [{ name: 'oncology', gpus: 8 }],
  });

  // Models: a registry, and a pipeline that trains, gates against the champion and registers.
  const registry = new ModelRegistry(platform, 'registry');
  const model = registry.model('breast-cancer');
  const training = new TrainingPipeline(platform, 'breast-cancer-train', {
    model,
    data: TrainingData.fromPlatformBucket('datasets/breast_cancer.csv'),
    target: 'target',
    trainer: 'logistic-regression',
    gate: { minimums: { roc_auc: 0.95 }, maxRegression: { roc_auc: 0.02 } },
  });

  // Serving: the version pinned for this environment, released by canary, features looked up by patient.
  const endpoint = new ModelEndpoint(platform, 'breast-cancer', {
    model: model.version(pins.version('breast-cancer', environment)),
    features: { service: tumorFeatures, entityInputs: { patient_id: 'patient_id' } },
    gateway: GatewayRef.fromAttributes({ name: 'public', namespace: 'gateways' }),
    strategy: DeploymentStrategy.canary({
      steps: [{ weight: 10, pause: '10m' }, { weight: 50, pause: '10m' }],
      analysis: { metrics: [AnalysisMetric.errorRate(0.01), AnalysisMetric.p99Latency(100)] },
    }),
    scaling: EndpointScaling.cpu(env.replicas),
  });

  // Monitoring: drift every 15 minutes; one drift episode starts one retraining.
  new DriftMonitor(platform, 'breast-cancer-drift', {
    endpoint,
    schedule: MonitorSchedule.cron('*/15 * * * *'),
    window: '1h',
    retrain: training,
    retrainCooldown: '24h',
    alerts: { datasetDrift: { severity: 'critical', for: '15m' } },
  });
}

app.synth();

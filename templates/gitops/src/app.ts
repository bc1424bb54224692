import * as path from 'node:path';
import {
  CapacityType, Cluster, DriftMonitor, EndpointScaling, FeatureSource, FeatureStore, GatewayRef, GpuCapacity, GpuTrainingPool, MlApp, MlAppProps,
  MlPlatform, ModelEndpoint, ModelPins, ModelRegistry, Network, StateBackend, TrainingData, TrainingPipeline,
} from 'cdk-mlops';
import { environments, PLATFORM_NAME, PlatformEnvironment } from './environments';

/**
 * The model versions each environment serves, and per-environment settings ("settings": the
 * endpoints' replica bounds). `cdk-mlops promote --from <env> --to <next>` copies both from one
 * environment to the next, editing only those values, so a promotion is a small pull request
 * and a rollback is a revert.
 */
export const PINS_FILE = path.join(__dirname, '..', 'pins.json');

/** The models of the platform: each is trained, served and monitored, and pinned per environment in pins.json. */
export const MODELS = {{models}};

/**
 * The online features the endpoints are enriched with: one entity, one feature view over the
 * Parquet files under s3://<artefact bucket>/features/features/<source>/ (materialized into
 * Redis every hour), one feature service. A prediction request names the entity's key
 * (`customer_id`); the endpoint looks the features up and adds them to the request before the
 * model runs, so the models are trained on these columns too. Change them to your data.
 */
export const FEATURES = {
  entity: { name: 'customer', joinKey: 'customer_id' },
  view: { name: 'customer_profile', source: 'customer_profile', columns: ['tenure_months', 'monthly_spend', 'support_tickets_90d'] },
  service: 'customer_features',
} as const;

/**
 * The Gateway (Gateway API) the endpoints are exposed through. Install a Gateway API
 * implementation in each cluster and create this Gateway with a listener that admits routes
 * from the `<platform>-serving` namespace (see README.md).
 */
export const GATEWAY = GatewayRef.fromAttributes({ name: 'ml', namespace: 'gateway' });

/**
 * The GPU pool for training (your own training containers: `TrainingCompute.gpu(pool, ...)`;
 * the built-in trainers run on CPU). Karpenter starts NVIDIA nodes of these families when a
 * training pod waits and removes them once empty, so an idle pool costs nothing; Kueue admits
 * jobs through the pool's queue `<pool>-default` in the training namespace, within
 * `gpu.maxGpus` of src/environments.ts. Spot or on-demand per environment (`gpu.spot`).
 */
export const GPU_POOL = { name: 'gpu', instanceFamilies: ['g5', 'g6'] } as const;

/** The platform of one environment. */
export function createPlatform(app: MlApp, env: PlatformEnvironment, pins: ModelPins): MlPlatform {
  const platform = new MlPlatform(app, env.name, {
    platformName: PLATFORM_NAME,
    environment: env.name,
    account: env.account,
    region: env.region,
    network: Network.create({ cidr: env.cidr, availabilityZones: env.availabilityZones, natGateways: env.natGateways }),
    cluster: Cluster.create({ systemNodes: env.systemNodes, logRetentionDays: env.logRetentionDays }),
    // Terraform state per environment in the account's state bucket (create it once: see README.md).
    stateBackend: StateBackend.s3({ bucket: `${PLATFORM_NAME}-tfstate-${env.account}` }),
    tags: { 'cost-center': PLATFORM_NAME },
  });

  // Features: offline in Parquet (the artefact bucket), online in Redis (ElastiCache).
  const store = new FeatureStore(platform, 'features');
  const entity = store.addEntity(FEATURES.entity.name, { joinKey: FEATURES.entity.joinKey, joinKeyType: 'string' });
  const view = store.addFeatureView(FEATURES.view.name, {
    entities: [entity],
    schema: FEATURES.view.columns.map((name) => ({ name, type: 'float64' as const })),
    source: FeatureSource.parquet(FEATURES.view.source),
    schedule: '@hourly',
  });
  const features = store.addFeatureService(FEATURES.service, { features: [view] });

  // GPU nodes for training, from zero: Karpenter (with its IAM role and interruption queue) and Kueue.
  new GpuTrainingPool(platform, GPU_POOL.name, {
    capacity: GpuCapacity.karpenter({
      instanceFamilies: [...GPU_POOL.instanceFamilies],
      capacityTypes: [env.gpu.spot ? CapacityType.SPOT : CapacityType.ON_DEMAND],
      maxGpus: env.gpu.maxGpus,
    }),
  });

  // Each environment's registry is a prefix of its artefact bucket.
  const registry = new ModelRegistry(platform, 'registry');
  for (const name of MODELS) {
    const model = registry.model(name);
    // Trains from s3://<artefact bucket>/datasets/<model>/train.csv (label column 'target'),
    // once per configuration change; the quality gate keeps a worse model from being registered.
    const training = new TrainingPipeline(platform, `${name}-train`, {
      model,
      data: TrainingData.fromPlatformBucket(`datasets/${name}/train.csv`),
      target: 'target',
      trainer: 'logistic-regression',
    });
    // Serves the version pinned for this environment in pins.json.
    const endpoint = new ModelEndpoint(platform, name, {
      model: model.version(pins.version(name, env.name)),
      // Looks the customer's features up by the request's customer_id before the model runs.
      features: { service: features, entityInputs: { [FEATURES.entity.joinKey]: FEATURES.entity.joinKey } },
      gateway: GATEWAY,
      // Replica bounds per environment from pins.json ("settings"), promoted with the version.
      scaling: EndpointScaling.cpu({ minReplicas: pins.numberSetting('minReplicas', env.name), maxReplicas: pins.numberSetting('maxReplicas', env.name) }),
    });
    // Compares live inputs with the training data every hour; retrains on drift.
    new DriftMonitor(platform, `${name}-drift`, { endpoint, retrain: training });
  }
  return platform;
}

/** Every environment of the platform. `cdk-mlops synth` writes what this returns. */
export function createApp(props: MlAppProps = {}): MlApp {
  const app = new MlApp(props);
  const pins = ModelPins.fromFile(PINS_FILE);
  for (const env of environments) createPlatform(app, env, pins);
  return app;
}

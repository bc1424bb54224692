import * as path from 'node:path';
import {
  Cluster, DriftMonitor, EndpointScaling, GatewayRef, MlApp, MlAppProps, MlPlatform, ModelEndpoint, ModelPins, ModelRegistry,
  Network, StateBackend, TrainingData, TrainingPipeline,
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
 * The Gateway (Gateway API) the endpoints are exposed through. Install a Gateway API
 * implementation in each cluster and create this Gateway with a listener that admits routes
 * from the `<platform>-serving` namespace (see README.md).
 */
export const GATEWAY = GatewayRef.fromAttributes({ name: 'ml', namespace: 'gateway' });

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

import * as path from 'node:path';
import { Cluster, MlApp, MlAppProps, MlPlatform, ModelPins, ModelRegistry, Network, StateBackend } from 'cdk-mlops';
import { environments, PLATFORM_NAME, PlatformEnvironment } from './environments';

/**
 * The model versions each environment serves. `cdk-mlops promote` edits this file (and only
 * the pinned number), so a promotion is a one-line pull request and a rollback is a revert.
 */
export const PINS_FILE = path.join(__dirname, '..', 'pins.json');

/** The models of the platform: each is pinned per environment in pins.json. */
export const MODELS = {{models}};

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

  const registry = new ModelRegistry(platform, 'registry');
  for (const name of MODELS) {
    const model = registry.model(name);
    // The version this environment serves: pins.json, reviewed in pull requests.
    model.version(pins.version(name, env.name));
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

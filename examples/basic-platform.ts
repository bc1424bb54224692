/**
 * A complete platform with two environments: dev (small, API reachable from the office
 * network) and prod (larger, private API, remote state). Synthesize with:
 *
 *   npx cdk-mlops synth --app examples/basic-platform.ts
 */
import { Cluster, MlApp, MlPlatform, Network, RuntimeImage, StateBackend } from 'cdk-mlops';

const app = new MlApp();
const common = { platformName: 'acme-ml', region: 'eu-west-1', account: '123456789012', tags: { 'cost-center': 'ml-platform' } };

new MlPlatform(app, 'dev', {
  ...common,
  environment: 'dev',
  network: Network.create({ cidr: '10.10.0.0/16', availabilityZones: 2, natGateways: 1 }),
  cluster: Cluster.create({ publicAccessCidrs: ['203.0.113.0/24'], systemNodes: { instanceTypes: ['m7i.large'], minSize: 2, maxSize: 3 } }),
});

new MlPlatform(app, 'prod', {
  ...common,
  environment: 'prod',
  network: Network.create({ cidr: '10.20.0.0/16', availabilityZones: 3 }),
  cluster: Cluster.create({
    systemNodes: { instanceTypes: ['m7i.xlarge'], minSize: 3, maxSize: 9 },
    logRetentionDays: 365,
    adminRoleArns: ['arn:aws:iam::123456789012:role/platform-admins'],
  }),
  runtimeImage: RuntimeImage.fromDigest('123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-mlops-runtime',
    'sha256:4f6d1c0a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4', '0.1.0'),
  stateBackend: StateBackend.s3({ bucket: 'acme-terraform-state', kmsKeyId: 'alias/terraform-state' }),
});

app.synth();

'use strict';
// One measured case, run in a fresh process (cold): node bench/synth/case.js <variant> <groups>
//   example   synthesize examples/basic-platform.ts through the CLI code path (groups ignored)
//   showcase  the same for examples/breast-cancer/main.ts (every capability construct)
//   platform  an MlPlatform + <groups> model-endpoint-sized groups of objects, synthesized
//   baseline  the same groups created with plain cdktf + cdk8s (no platform layer), synthesized
// Prints one JSON line: { variant, groups, loadMs, synthMs, totalMs, maxRssMiB, tfResources, k8sObjects }.
const t0 = process.hrtime.bigint();
let cpuAtT1;
const cpuMs = (u) => (u.user + u.system) / 1000;
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const lib = path.join(__dirname, '..', '..', 'lib');
const [variant, groupsArg] = process.argv.slice(2);
const groups = Number(groupsArg ?? 0);
const ms = (a, b) => Number(b - a) / 1e6;

function endpointGroup(scopeCloud, scopeCluster, i, aws, k8s, kplus, platformWorkload) {
  const name = `model-${i}`;
  const ns = 'acme-ml-serving';
  const labels = { 'app.kubernetes.io/name': name };
  let tf = 0;
  if (platformWorkload) {
    const w = platformWorkload(name);
    w.role.addToPolicy({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::bucket/models/${name}/*` });
  } else {
    const role = new aws.IamRole(scopeCloud, `${name}-role`, { name: `acme-ml-dev-serving-${name}`, assumeRolePolicy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' }, ArnEquals: { 'aws:SourceArn': 'arn:aws:eks:eu-west-1:123456789012:cluster/acme-ml-dev' } } }] }) });
    new aws.IamRolePolicy(scopeCloud, `${name}-policy`, { name: 'least-privilege', role: role.name, policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::bucket/models/${name}/*` }] }) });
    new aws.EksPodIdentityAssociation(scopeCloud, `${name}-assoc`, { clusterName: 'acme-ml-dev', namespace: ns, serviceAccount: name, roleArn: role.arn });
    new k8s.KubeServiceAccount(scopeCluster, `${name}-sa`, { metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': `acme-ml-${name}` } }, automountServiceAccountToken: false });
    tf = 3;
  }
  const sc = { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
  new k8s.KubeDeployment(scopeCluster, `${name}-deploy`, {
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: 2, selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { serviceAccountName: name, automountServiceAccountToken: false, securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ name: 'serve', image: 'ghcr.io/cdk-mlops/runtime:0.1.0', args: ['serve'], ports: [{ containerPort: 8080 }], securityContext: sc,
          resources: { requests: { cpu: k8s.Quantity.fromString('500m'), memory: k8s.Quantity.fromString('512Mi') }, limits: { cpu: k8s.Quantity.fromString('1'), memory: k8s.Quantity.fromString('1Gi') } } }] } },
    },
  });
  new k8s.KubeService(scopeCluster, `${name}-svc`, { metadata: { name, namespace: ns }, spec: { selector: labels, ports: [{ port: 80, targetPort: k8s.IntOrString.fromNumber(8080) }] } });
  new k8s.KubeHorizontalPodAutoscalerV2(scopeCluster, `${name}-hpa`, { metadata: { name, namespace: ns }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, minReplicas: 2, maxReplicas: 10,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }] } });
  new k8s.KubePodDisruptionBudget(scopeCluster, `${name}-pdb`, { metadata: { name, namespace: ns }, spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: labels } } });
  new k8s.KubeNetworkPolicy(scopeCluster, `${name}-netpol`, { metadata: { name, namespace: ns }, spec: { podSelector: { matchLabels: labels }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: k8s.IntOrString.fromNumber(8080) }] }] } });
  new k8s.KubeConfigMap(scopeCluster, `${name}-config`, { metadata: { name: `${name}-config`, namespace: ns }, data: { 'serve.json': JSON.stringify({ models: [{ name, ref: 'champion' }] }) } });
  return tf;
}

let result;
if (variant === 'example' || variant === 'showcase') {
  const { synthApp } = require(path.join(lib, 'cli', 'commands', 'synth.js'));
  const t1 = process.hrtime.bigint();
  cpuAtT1 = process.cpuUsage();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const program = variant === 'example' ? ['basic-platform.ts'] : ['breast-cancer', 'main.ts'];
  const r = synthApp(path.join(__dirname, '..', '..', 'examples', ...program), out);
  const t2 = process.hrtime.bigint();
  fs.rmSync(out, { recursive: true, force: true });
  result = { loadMs: ms(t0, t1), synthMs: ms(t1, t2), tfResources: r.reduce((a, x) => a + x.inventory.terraform.total, 0), k8sObjects: r.reduce((a, x) => a + x.inventory.kubernetes.total, 0) };
} else if (variant === 'platform') {
  const m = require(lib);
  const { PlatformPart } = require(path.join(lib, 'constructs', 'platform.js'));
  const { k8s } = require('cdk8s-plus-33');
  const t1 = process.hrtime.bigint();
  cpuAtT1 = process.cpuUsage();
  const app = new m.MlApp({ outdir: '/nonexistent' });
  const p = new m.MlPlatform(app, 'dev', { platformName: 'acme-ml', environment: 'dev', region: 'eu-west-1', account: '123456789012' });
  const chart = p.chart('serving');
  for (let i = 0; i < groups; i++) endpointGroup(null, chart, i, null, k8s, null, (name) => p.addWorkload(p, name, { part: PlatformPart.SERVING, chart }));
  const s = m.synthesizePlatform(p);
  const files = m.synthesisFiles(s);
  const t2 = process.hrtime.bigint();
  result = { loadMs: ms(t0, t1), synthMs: ms(t1, t2), tfResources: s.inventory.terraform.total, k8sObjects: s.inventory.kubernetes.total, bytes: Object.values(files).reduce((a, f) => a + f.length, 0) };
} else if (variant === 'baseline') {
  // The same objects without the platform layer: the same building blocks (thin wrappers over
  // provider resources and typed Kubernetes objects) wired by hand in a plain cdktf stack and
  // cdk8s charts, with the same labels; no MlPlatform orchestration, validation, policy checks,
  // canonical ordering or inventory.
  const cdktf = require('cdktf');
  const cdk8s = require('cdk8s');
  const { k8s } = require('cdk8s-plus-33');
  const { PlatformNetwork, Network } = require(path.join(lib, 'constructs', 'cloud', 'network.js'));
  const { PlatformCluster, Cluster } = require(path.join(lib, 'constructs', 'cloud', 'eks.js'));
  const { PlatformKey } = require(path.join(lib, 'constructs', 'cloud', 'key.js'));
  const { SecureBucket } = require(path.join(lib, 'constructs', 'cloud', 'secure-bucket.js'));
  const { CloudHandoff } = require(path.join(lib, 'constructs', 'cloud', 'handoff.js'));
  const { PlatformNamespace } = require(path.join(lib, 'constructs', 'cluster', 'namespace.js'));
  const aws = {
    IamRole: require('@cdktf/provider-aws/lib/iam-role').IamRole,
    IamRolePolicy: require('@cdktf/provider-aws/lib/iam-role-policy').IamRolePolicy,
    EksPodIdentityAssociation: require('@cdktf/provider-aws/lib/eks-pod-identity-association').EksPodIdentityAssociation,
    AwsProvider: require('@cdktf/provider-aws/lib/provider').AwsProvider,
  };
  const t1 = process.hrtime.bigint();
  cpuAtT1 = process.cpuUsage();
  const tfApp = new cdktf.App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-base-')) });
  const stack = new cdktf.TerraformStack(tfApp, 'cloud');
  new cdktf.LocalBackend(stack, { path: 'terraform.tfstate' });
  const tags = { 'cdk-mlops:platform': 'acme-ml', 'cdk-mlops:environment': 'dev', 'cdk-mlops:managed-by': 'cdk-mlops' };
  new aws.AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: ['123456789012'], defaultTags: [{ tags }] });
  const key = new PlatformKey(stack, 'platform-key', { alias: 'acme-ml-dev', description: 'k', account: '123456789012', region: 'eu-west-1' });
  const net = new PlatformNetwork(stack, 'network', { network: Network.create(), namePrefix: 'acme-ml-dev', clusterName: 'acme-ml-dev', kmsKeyArn: key.arn, region: 'eu-west-1' });
  const cl = new PlatformCluster(stack, 'cluster', { cluster: Cluster.create(), clusterName: 'acme-ml-dev', kubernetesVersion: '1.33', subnetIds: net.privateSubnetIds, kmsKeyArn: key.arn, namePrefix: 'acme-ml-dev', account: '123456789012', region: 'eu-west-1', tags });
  new SecureBucket(stack, 'artifacts', { bucketName: 'acme-ml-dev-artifacts-12345678', kmsKeyArn: key.arn });
  const handoff = new CloudHandoff(stack, 'handoff', { prefix: '/cdk-mlops/acme-ml/dev', kmsKeyArn: key.arn, account: '123456789012', region: 'eu-west-1' });
  handoff.publish('cluster/endpoint', cl.endpoint, { description: 'e' });
  handoff.publish('cluster/certificate-authority', cl.certificateAuthorityData, { description: 'c' });
  const labels = { 'app.kubernetes.io/part-of': 'acme-ml', 'app.kubernetes.io/managed-by': 'cdk-mlops', 'cdk-mlops.io/environment': 'dev' };
  const kApp = new cdk8s.App();
  const platformChart = new cdk8s.Chart(kApp, 'platform', { labels, disableResourceNameHashes: true });
  for (const part of ['training', 'serving', 'features', 'monitoring']) {
    new PlatformNamespace(platformChart, `ns-${part}`, { name: `acme-ml-${part}`, labels: { ...labels, 'cdk-mlops.io/part': part }, kubernetesVersion: '1.33' });
  }
  const chart = new cdk8s.Chart(kApp, 'serving', { labels, disableResourceNameHashes: true });
  let tf = 0;
  for (let i = 0; i < groups; i++) tf += endpointGroup(stack, chart, i, aws, k8s, null, null);
  const tfJson = JSON.stringify(stack.toTerraform(), null, 2);
  let k8sCount = 0;
  let yamlBytes = 0;
  for (const c of [platformChart, chart]) {
    const docs = c.toJson();
    k8sCount += docs.length;
    yamlBytes += cdk8s.Yaml.stringify(...docs).length;
  }
  const t2 = process.hrtime.bigint();
  fs.rmSync(tfApp.outdir, { recursive: true, force: true });
  result = { loadMs: ms(t0, t1), synthMs: ms(t1, t2), tfResources: Object.values(JSON.parse(tfJson).resource).reduce((a, r) => a + Object.keys(r).length, 0), k8sObjects: k8sCount, bytes: tfJson.length + yamlBytes };
} else {
  throw new Error(`unknown variant '${variant}': expected example, platform or baseline`);
}
const totalMs = ms(t0, process.hrtime.bigint());
const cpuTotal = process.cpuUsage();
result.synthCpuMs = cpuMs(cpuTotal) - cpuMs(cpuAtT1);
result.totalCpuMs = cpuMs(cpuTotal);
process.stdout.write(`${JSON.stringify({ variant, groups, ...result, totalMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);

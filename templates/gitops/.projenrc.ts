import { ClusterAddon, MlopsGitOpsProject } from 'cdk-mlops/lib/projen';
import { environments, PLATFORM_NAME } from './src/environments';

/**
 * The repository's definition. package.json, the workflows, the Argo CD bootstrap, CODEOWNERS
 * and the pull-request template are generated from it: edit this file, then run `npx projen`.
 * Environments are declared once, in src/environments.ts.
 */
const project = new MlopsGitOpsProject({
  platformName: PLATFORM_NAME,
  environments,
  repositoryUrl: {{repositoryUrl}},
  codeOwners: {{codeOwners}},
  cdkMlopsVersion: {{cdkMlopsVersion}},
  // What the cluster plane needs in each cluster, installed by Argo CD before it (argocd/README.md):
  // the Prometheus Operator (ServiceMonitor, PrometheusRule), the Gateway API CRDs (HTTPRoute),
  // Karpenter (the GPU pool's NodePool, EC2NodeClass; its IAM role and interruption queue are in
  // the cloud plane) and Kueue (the GPU pool's queues). Karpenter and Kueue charts come from OCI
  // registries. External Secrets Operator, the cloud-to-cluster handoff, is always installed.
  addons: [ClusterAddon.kubePrometheusStack(), ClusterAddon.gatewayApiCrds(), ClusterAddon.karpenter(), ClusterAddon.kueue()],
});

project.synth();

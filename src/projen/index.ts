/**
 * The GitOps repository project type: `import { MlopsGitOpsProject } from 'cdk-mlops/lib/projen'`
 * in a generated repository's `.projenrc.ts`. This entry point loads projen (an optional peer
 * dependency of cdk-mlops); the main entry point (`cdk-mlops`) never does.
 */
export { MlopsGitOpsProject, ManagedYamlFile, CDK_MLOPS_VERSION, argoCdReadmeLines } from './project';
export type { MlopsGitOpsProjectOptions } from './project';
export type { GitOpsEnvironment } from './environments';
export { environmentProblems, variableSuffix } from './environments';
export { PINNED_ACTIONS } from './actions';
export type { PinnedAction } from './actions';
export {
  appObjects, argoCdValues, bootstrapObjects, ClusterAddon, deployBranch, DEFAULT_CLUSTER_RESOURCES, EXTERNAL_SECRETS_CHART_REPO,
  EXTERNAL_SECRETS_NAMESPACE, KARPENTER_CHART_REPO, KUEUE_CHART_REPO, mergeValues, PROVIDES_API_GROUPS_ANNOTATION, resolveAddons, SYNC_WAVES,
} from './argocd';
export type {
  AddonContext, ArgoCdSettings, ClusterAddonSpec, ClusterResource, HelmAddonOptions, KarpenterAddonOptions, KubeObject, KueueAddonOptions,
} from './argocd';
export { deployWorkflow, promoteWorkflow, pullRequestWorkflow, planRoleVariable, DEPLOY_ROLE_VARIABLE, PROMOTION_TOKEN_SECRET } from './workflows';
export type { Workflow, WorkflowJob, WorkflowStep, WorkflowSettings } from './workflows';
export { codeOwnersLines, pullRequestTemplateLines } from './review';
export type { CodeOwnersSettings } from './review';

/**
 * cdk-mlops: an ML platform as code. The public API.
 */
export * from './constructs/app';
export * from './constructs/platform';
export * from './constructs/errors';
export * from './constructs/runtime-image';
export { Network, PlatformNetwork, EKS_SERVICE_CIDR } from './constructs/cloud/network';
export type { CreateNetworkOptions, ExistingNetworkOptions } from './constructs/cloud/network';
export { Cluster, PlatformCluster, SUPPORTED_KUBERNETES_VERSIONS, DEFAULT_KUBERNETES_VERSION } from './constructs/cloud/eks';
export type { CreateClusterOptions, ExistingClusterOptions, SystemNodeGroupOptions } from './constructs/cloud/eks';
export { SecureBucket } from './constructs/cloud/secure-bucket';
export { PlatformKey } from './constructs/cloud/key';
export { CloudHandoff } from './constructs/cloud/handoff';
export { WorkloadRole } from './constructs/cloud/workload-identity';
export type { PolicyStatement } from './constructs/cloud/workload-identity';
export { PlatformNamespace } from './constructs/cluster/namespace';
export type { NamespaceQuota, ContainerDefaults } from './constructs/cluster/namespace';
export { POLICY_RULES, checkKubernetes, checkTerraform } from './constructs/policy/rules';
export type { PolicyFinding, PolicySuppression } from './constructs/policy/rules';
export { ModelRegistry, RegistryStorage } from './constructs/model-registry';
export type { ModelRegistryProps, PlatformBucketStorageOptions, OwnBucketStorageOptions } from './constructs/model-registry';
export {
  CapacityType, GpuAmiFamily, GpuCapacity, GpuTrainingPool, GPU_INSTANCE_FAMILIES, GPU_TAINT, KARPENTER_INTERRUPTION_EVENTS, KARPENTER_NAMESPACE,
  KARPENTER_SERVICE_ACCOUNT, KarpenterController, karpenterInterruptionQueueName, KUEUE_API_VERSION, KUEUE_QUEUE_LABEL, POOL_LABEL,
} from './constructs/gpu-training-pool';
export type { GpuInstanceFamily, GpuInstanceSize, GpuTrainingPoolProps, KarpenterCapacityOptions, ManagedNodeGroupCapacityOptions, PoolQueue, TeamQuota } from './constructs/gpu-training-pool';
export type { IModelRegistry, IModel, IModelVersion, IPredictionLog, IFeatureServer, IFeatureService, INodePool, NodeToleration } from './constructs/refs';
export * from './constructs/endpoint';
export { HyperparameterSearch, TrainingCompute, TrainingData, TrainingPipeline } from './constructs/training-pipeline';
export type { CpuComputeOptions, GpuComputeOptions, SearchOptions, TrainingPipelineProps } from './constructs/training-pipeline';
export { DistributedTrainingJob } from './constructs/training-pipeline';
export type { DistributedTrainingJobProps } from './constructs/training-pipeline';
export { ModelPins, promotePins, formatPins, pinsSchema, PINS_SCHEMA_VERSION, DEFAULT_PINS_FILE, PIN_TARGET_PATTERN } from './promote/pins';
export type { PinsDocument, PinChange, PromoteRequest, PromoteResult } from './promote/pins';
export * from './constructs/monitor';
export type { IMonitorableEndpoint, IPrometheus, IRetrainable } from './constructs/refs';
export * from './constructs/features';

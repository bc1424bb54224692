import '../support/gateway-api-schema';
import {
  DriftMonitor, DriftMonitorProps, MlPlatform, ModelEndpoint, ModelEndpointProps, ModelRegistry, PlatformSynthesis, TrainingData, TrainingPipeline,
  TrainingPipelineProps,
} from '../../src';
import { GATEWAY } from '../support/endpoint';
import { kubeObjects, newPlatform, synth, TestKubeObject } from '../support/platform';

/** What `buildMonitor` returns. */
export interface BuiltMonitor {
  platform: MlPlatform;
  registry: ModelRegistry;
  endpoint: ModelEndpoint;
  pipeline: TrainingPipeline;
  monitor: DriftMonitor;
  s: PlatformSynthesis;
  /** Objects of the monitoring chart. */
  monitoring: TestKubeObject[];
  all: TestKubeObject[];
}

/** Options of `buildMonitor`. */
export interface BuildOptions {
  endpoint?: (registry: ModelRegistry) => Partial<ModelEndpointProps>;
  pipeline?: (registry: ModelRegistry, platform: MlPlatform) => Partial<TrainingPipelineProps>;
}

/**
 * A platform with a registry, the endpoint `fraud` (serving fraud@7), the training pipeline
 * `fraud-train` (a TrainingPipeline with its CronJob) and the DriftMonitor `fraud-drift`, synthesized.
 */
export function buildMonitor(
  props: (b: { endpoint: ModelEndpoint; pipeline: TrainingPipeline; registry: ModelRegistry; platform: MlPlatform }) => Partial<DriftMonitorProps> = () => ({}),
  options: BuildOptions = {},
): BuiltMonitor {
  const { platform } = newPlatform();
  const registry = new ModelRegistry(platform, 'registry');
  const endpoint = new ModelEndpoint(platform, 'fraud', { model: registry.model('fraud').version(7), gateway: GATEWAY, ...options.endpoint?.(registry) });
  const pipeline = new TrainingPipeline(platform, 'fraud-train', {
    model: registry.model('fraud'),
    data: TrainingData.fromPlatformBucket('datasets/fraud/train.parquet'),
    target: 'is_fraud',
    ...options.pipeline?.(registry, platform),
  });
  const monitor = new DriftMonitor(platform, 'fraud-drift', { endpoint, ...props({ endpoint, pipeline, registry, platform }) });
  const s = synth(platform);
  return { platform, registry, endpoint, pipeline, monitor, s, monitoring: (s.kubernetes['monitoring.yaml'] ?? []) as TestKubeObject[], all: kubeObjects(s) };
}

/**
 * Names the Karpenter controller's cloud half (IAM role bound by EKS Pod Identity, interruption
 * queue; `KarpenterController`) and its cluster half (the Helm chart installed by Argo CD;
 * `ClusterAddon.karpenter()` in cdk-mlops/lib/projen) must agree on. No imports: the projen
 * project type reads them without loading cdktf.
 */

/** Namespace the Karpenter controller runs in (the add-on's namespace). */
export const KARPENTER_NAMESPACE = 'karpenter';
/** ServiceAccount of the Karpenter controller (the chart's `serviceAccount.name`). */
export const KARPENTER_SERVICE_ACCOUNT = 'karpenter';

/**
 * Name of the SQS queue EventBridge sends Spot interruption, rebalance, instance state-change
 * and AWS Health events to (the chart's `settings.interruptionQueue`):
 * `<platform>-<environment>-karpenter` (at most 20 + 1 + 12 + 10 characters: always under SQS's 80).
 */
export function karpenterInterruptionQueueName(platformName: string, environment: string): string {
  return `${platformName}-${environment}-karpenter`;
}

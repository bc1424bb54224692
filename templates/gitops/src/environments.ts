import type { GitOpsEnvironment } from 'cdk-mlops/lib/projen';

/** The platform's name: the prefix of AWS resource names, Kubernetes namespaces and Argo CD applications. */
export const PLATFORM_NAME = {{platformName}};

/**
 * An environment: where it runs (read by .projenrc.ts for the workflows and Argo CD, and by
 * src/app.ts for the platform) and how large it is (read by src/app.ts).
 */
export interface PlatformEnvironment extends GitOpsEnvironment {
  /** VPC CIDR; distinct per environment so that environments can be peered later. */
  readonly cidr: string;
  /** Availability zones of the VPC and the cluster (2 or 3). */
  readonly availabilityZones: number;
  /** NAT gateways (1 saves money, one per zone survives a zone outage). */
  readonly natGateways: number;
  /** The EKS system node group (cluster add-ons and the platform's controllers). */
  readonly systemNodes: { readonly instanceTypes: string[]; readonly minSize: number; readonly maxSize: number };
  /** Days of EKS control-plane logs kept in CloudWatch. */
  readonly logRetentionDays: number;
  /**
   * The GPU training pool (Karpenter nodes, none while no training pod waits): Spot instances
   * (cheaper, interruptible: for jobs that checkpoint) or on-demand, and the most GPUs at once.
   */
  readonly gpu: { readonly spot: boolean; readonly maxGpus: number };
}

/**
 * The environments in promotion order: a change is deployed to each in turn, and a model is
 * promoted from one to the next (`npx projen promote <model> --from <env> --to <next env>`).
 */
export const environments: PlatformEnvironment[] = [
{{environments}}
];

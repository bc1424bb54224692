import type { Workload } from './platform';

/**
 * References between capability constructs. Capabilities compose by reference, never by
 * strings: a ModelEndpoint takes an `IModelVersion` from a ModelRegistry, a DriftMonitor takes
 * the endpoint, a TrainingPipeline takes the registry model it writes.
 */

/** A registry that stores model versions (implemented by `ModelRegistry`). */
export interface IModelRegistry {
  /** Registry URI the runtime opens (`s3://bucket/prefix`). */
  readonly registryUri: string;
  /** S3 bucket ARN. */
  readonly bucketArn: string;
  /** KMS key ARN that encrypts the bucket. */
  readonly kmsKeyArn: string;
  /** Key prefix of the registry inside the bucket (no leading or trailing slash). */
  readonly prefix: string;
  /** Lets `workload` read every file of one model (or of every model when omitted). */
  grantRead(workload: Workload, model?: string): void;
  /** Lets `workload` register versions and move aliases of one model. */
  grantWrite(workload: Workload, model: string): void;
}

/** A model in a registry (`registry.model('fraud')`). */
export interface IModel {
  readonly registry: IModelRegistry;
  readonly modelName: string;
  /** A pinned version. */
  version(n: number): IModelVersion;
  /** The version an alias points at, resolved by the runtime at start and on reload. */
  alias(name: string): IModelVersion;
}

/** A pinned version or an alias of a model: what an endpoint serves. */
export interface IModelVersion {
  readonly model: IModel;
  /** A version number, or an alias name. */
  readonly ref: number | string;
  /** `fraud@7` or `fraud@champion`. */
  readonly label: string;
}

/** A place where prediction logs are written and read (an S3 prefix). */
export interface IPredictionLog {
  /** `s3://bucket/prefix` */
  readonly uri: string;
  readonly bucketArn: string;
  readonly prefix: string;
  readonly kmsKeyArn: string;
}

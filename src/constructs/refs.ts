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

/**
 * A feature server (`cdk-mlops features serve`, answering `POST /get-online-features`) as the
 * clients of its feature services see it.
 */
export interface IFeatureServer {
  /** In-cluster base URL (`http://<service>.<namespace>.svc.cluster.local:6566`). */
  readonly url: string;
  /** Namespace of the feature server's pods. */
  readonly namespace: string;
  /** Labels of the feature server's pods (the peer of the clients' egress NetworkPolicy). */
  readonly podSelector: Readonly<Record<string, string>>;
  /** TCP port of the feature server's pods. */
  readonly port: number;
  /** Lets `workload`'s pods reach the feature server (adds them to its ingress NetworkPolicy). */
  allowClient(workload: Workload): void;
}

/** A named set of features a model consumes (implemented by `FeatureService`). */
export interface IFeatureService {
  /** The service's name, as `get-online-features` takes it (`feature_service`). */
  readonly featureServiceName: string;
  /** The features, as `view:feature` references, in the service's order. */
  readonly featureRefs: readonly string[];
  /** Join keys of the entities the service's views are keyed by. */
  readonly joinKeys: readonly string[];
  /** The server that answers lookups for this service. */
  readonly server: IFeatureServer;
}

/**
 * A toleration of a node taint: the fields of the Kubernetes `Toleration` that node pools use
 * (structurally compatible with cdk8s' `k8s.Toleration`).
 */
export interface NodeToleration {
  /** The taint key; unset with operator `Exists` tolerates every taint. */
  readonly key?: string;
  /** `Equal` or `Exists`. @default 'Equal' */
  readonly operator?: string;
  readonly value?: string;
  /** `NoSchedule`, `PreferNoSchedule` or `NoExecute`; unset matches every effect. */
  readonly effect?: string;
}

/**
 * Node capacity a workload can be placed on (a GPU node pool such as `GpuTrainingPool`, or an
 * inference pool): the pods select its nodes and tolerate its taints.
 */
export interface INodePool {
  /** Name, for the inventory and messages. */
  readonly poolName: string;
  /** Node labels the pods select. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Taints of the pool's nodes that the pods must tolerate. */
  readonly tolerations: readonly NodeToleration[];
}

/**
 * A Prometheus as the objects that feed it see it (implemented by `PrometheusRef`): where its
 * pods run (the peer of scrape NetworkPolicies) and the labels its ServiceMonitor and
 * PrometheusRule selectors look for.
 */
export interface IPrometheus {
  /** Namespace of the Prometheus pods. */
  readonly namespace: string;
  /** Labels of the Prometheus pods. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** Labels that make Prometheus pick up a ServiceMonitor or PrometheusRule (`release: kube-prometheus-stack`). */
  readonly serviceMonitorLabels: Readonly<Record<string, string>>;
}

/**
 * An endpoint a drift monitor can watch (implemented by `ModelEndpoint`): what it serves and
 * where it logs its predictions.
 */
export interface IMonitorableEndpoint {
  /** Name of the endpoint (inventory, messages). */
  readonly endpointName: string;
  /** Namespace of the endpoint. */
  readonly namespace: string;
  /** The deployed variants, primary first: their `variant` label and the model version each serves. */
  readonly variants: readonly { readonly name: string; readonly model: IModelVersion }[];
  /** Where the endpoint logs predictions; undefined when logging is off. */
  readonly predictionLog?: IPredictionLog;
  /** The Prometheus that scrapes the endpoint. */
  readonly prometheus: IPrometheus;
}

/**
 * Something that retrains a model from a Kubernetes CronJob (implemented by `TrainingPipeline`):
 * a drift monitor creates a Job from that CronJob, as `kubectl create job --from=cronjob/<name>` does.
 */
export interface IRetrainable {
  /** Name of the CronJob; undefined when the pipeline has none. */
  readonly cronJobName?: string;
  /** Namespace of the CronJob. */
  readonly namespace: string;
  /** The registry model the pipeline trains and registers. */
  readonly model: IModel;
}

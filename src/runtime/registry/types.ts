/**
 * The model registry's contract: the layout of a version and the documents stored with it.
 * Every runtime command (train writes; serve, monitor and up read) and the ModelRegistry
 * construct (which grants access to the layout's prefixes) depend on this file alone.
 *
 * Layout (identical in a local directory and under an S3 prefix):
 *
 * ```
 * <root>/models/<model>/versions/<version>/model.onnx        the artefact
 * <root>/models/<model>/versions/<version>/manifest.json     ModelManifest (written last: its
 *                                                           presence makes the version visible)
 * <root>/models/<model>/versions/<version>/model-card.md     human-readable model card
 * <root>/models/<model>/versions/<version>/reference.json    ReferenceStatistics (drift baseline)
 * <root>/models/<model>/aliases/<alias>.json                  AliasRecord (current target + history)
 * ```
 *
 * Versions are positive integers allocated atomically per model, starting at 1.
 */

/** Version of the manifest schema; bump on any incompatible change. */
export const MANIFEST_SCHEMA_VERSION = 1;
/** Version of the reference-statistics schema. */
export const REFERENCE_SCHEMA_VERSION = 1;

/** Tensor element types, named as in the Open Inference Protocol v2. */
export type TensorDatatype =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64'
  | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

/** One input or output of a model. `-1` in `shape` marks a dynamic axis (the batch axis first). */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: TensorDatatype;
  readonly shape: readonly number[];
}

/** Model signature: what the ONNX graph takes and returns, plus the tabular column names. */
export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Names of the feature columns, in the order of the input tensor's last axis. */
  readonly featureNames: readonly string[];
  /** Name of the label column in the training data. */
  readonly target: string;
  /** `classification` or `regression`. */
  readonly task: 'classification' | 'regression';
  /** Class labels in output order (classification only). */
  readonly classes?: readonly number[];
}

/** Lineage: where a version came from. */
export interface Lineage {
  /** Git commit of the code that trained it, or `unknown`. */
  readonly codeCommit: string;
  /** sha256 of exactly the data bytes used for training. */
  readonly dataHash: string;
  /** Where the data came from (path or URI). */
  readonly dataUri: string;
  /** Trainer name (`logistic-regression`, `ridge`, `mlp`, `external`, ...). */
  readonly trainer: string;
  /** Trainer version (the cdk-mlops package version for built-in trainers). */
  readonly trainerVersion: string;
  /** Who or what created it (user@host, or the Kubernetes job name). */
  readonly createdBy: string;
  /** Seed used for the split and the trainer. */
  readonly seed: number;
}

/** The manifest of one immutable version. */
export interface ModelManifest {
  readonly schemaVersion: typeof MANIFEST_SCHEMA_VERSION;
  readonly model: string;
  readonly version: number;
  /** ISO-8601 UTC time the version was registered. */
  readonly createdAt: string;
  /** sha256 (hex) of every other file of the version, by file name. */
  readonly files: Readonly<Record<string, { readonly sha256: string; readonly bytes: number }>>;
  readonly signature: ModelSignature;
  /** Held-out metrics, by name (`roc_auc`, `accuracy`, `rmse`, ...). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Metrics per slice value of a chosen column (fairness view), when asked for. */
  readonly sliceMetrics?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, number>>>>>>;
  /** Trainer hyperparameters. */
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  readonly lineage: Lineage;
  /** Quality-gate outcome at registration. */
  readonly gate?: { readonly passed: boolean; readonly reasons: readonly string[]; readonly comparedWith?: number };
}

/**
 * Reference statistics of one column (a feature or the prediction), computed on the
 * training data (the reference the drift monitor compares live traffic with).
 */
export interface ColumnReference {
  readonly name: string;
  /** `numeric` (continuous or integer) or `categorical`. */
  readonly kind: 'numeric' | 'categorical';
  readonly count: number;
  readonly missing: number;
  /** Number of distinct non-missing values (capped at `distinctCap`, see below). */
  readonly distinct: number;
  /** Numeric only. */
  readonly min?: number;
  readonly max?: number;
  readonly mean?: number;
  readonly std?: number;
  /** Numeric only: quantiles at `quantileLevels`. */
  readonly quantiles?: readonly number[];
  /**
   * Numeric only: histogram. `binEdges` has n+1 strictly increasing edges (the first is the
   * minimum, the last the maximum of the reference); `counts` has n counts; a value v falls in
   * bin i when edges[i] <= v < edges[i+1], the last bin being closed on both sides. Live values
   * outside [edges[0], edges[n]] go to the first/last bin and are counted as out of range.
   */
  readonly histogram?: { readonly binEdges: readonly number[]; readonly counts: readonly number[] };
  /** Categorical (and numeric with few distinct values): count per value (value as string). */
  readonly frequencies?: Readonly<Record<string, number>>;
  /**
   * A bounded sample of the raw reference values (at most `sampleSize`, drawn with a seeded
   * reservoir), so that tests needing the whole distribution (KS, Wasserstein) can run.
   * When count <= sampleSize, this is every value.
   */
  readonly sample?: readonly number[];
}

/** Reference statistics stored with a version as `reference.json`. */
export interface ReferenceStatistics {
  readonly schemaVersion: typeof REFERENCE_SCHEMA_VERSION;
  /** Number of reference rows. */
  readonly rows: number;
  /** Quantile levels used for every numeric column, ascending in (0, 1). */
  readonly quantileLevels: readonly number[];
  /** Maximum size of `sample`. */
  readonly sampleSize: number;
  readonly features: readonly ColumnReference[];
  /** The model's prediction on the reference (class label for classification, value for regression). */
  readonly prediction: ColumnReference;
  /** Held-out metrics of the version, repeated so the monitor needs one document. */
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * Target of an alias, plus its history (newest last).
 */
export interface AliasRecord {
  readonly model: string;
  readonly alias: string;
  readonly version: number;
  readonly history: readonly { readonly version: number; readonly movedAt: string; readonly movedBy: string; readonly reason?: string }[];
}

/**
 * One line of a prediction log (JSON Lines, UTF-8, one object per line). The serving runtime
 * writes files named `<logRoot>/<model>/<yyyy>/<mm>/<dd>/<hh>/<unique>.jsonl` (hours in UTC);
 * the monitor reads a time window of them. Labels arriving later are written by the client as
 * `<logRoot>/<model>/labels/<unique>.jsonl`, each line a {@link LabelRecord}.
 */
export interface PredictionRecord {
  /** Request id (the OIP `id`, or a generated one). */
  readonly id: string;
  readonly model: string;
  readonly version: number;
  /** Deployment variant (`primary`, `canary`, `shadow`, ...). */
  readonly variant: string;
  /** ISO-8601 UTC timestamp. */
  readonly ts: string;
  /** One object per row: feature name -> value (number, string, boolean or null). */
  readonly inputs: readonly Readonly<Record<string, number | string | boolean | null>>[];
  /** One prediction per row (class label or regression value). */
  readonly outputs: readonly (number | string | null)[];
  /**
   * Classification only, when the model outputs class probabilities (a floating-point output
   * with one value per class of the signature): one array per row, in the order of the
   * signature's `classes`. The monitor computes `roc_auc` and `log_loss` from them.
   */
  readonly scores?: readonly (readonly number[])[];
}

/** A ground-truth label, joined to predictions by request id and row index. */
export interface LabelRecord {
  readonly id: string;
  /** Row within the request (default 0). */
  readonly row?: number;
  readonly label: number | string;
  readonly ts?: string;
}

/** A version selector: a version number, or an alias name. */
export type VersionRef = number | string;

/** What a caller gets back when it reads a version: verified bytes and documents. */
export interface LoadedVersion {
  readonly manifest: ModelManifest;
  /** The ONNX artefact, sha256-verified against the manifest. */
  readonly artefact: Buffer;
}

/**
 * The registry, one interface over both backends (local directory, S3). Implemented in
 * `./registry.ts` (`openRegistry(uri)`: a path or `file://` URI gives the local backend,
 * `s3://bucket/prefix` the S3 one).
 */
export interface ModelRegistryClient {
  /** Where it points (`file:///abs/path` or `s3://bucket/prefix`). */
  readonly uri: string;
  /** Model names with at least one visible version, sorted. */
  listModels(): Promise<string[]>;
  /** Visible versions of a model, ascending. */
  listVersions(model: string): Promise<number[]>;
  /** Resolve an alias or number to a version number; throws a clear error when unknown. */
  resolve(model: string, ref: VersionRef): Promise<number>;
  /** Manifest of a version (no artefact read). */
  getManifest(model: string, version: number): Promise<ModelManifest>;
  /** Read artefact + manifest, verifying every sha256; throws `IntegrityError` on mismatch. */
  load(model: string, ref: VersionRef): Promise<LoadedVersion>;
  /** Reference statistics of a version (verified). */
  getReference(model: string, version: number): Promise<ReferenceStatistics>;
  /** Model card Markdown of a version (verified). */
  getModelCard(model: string, version: number): Promise<string>;
  /** Aliases of a model. */
  listAliases(model: string): Promise<AliasRecord[]>;
  /** Point an alias at a version, appending to its history. */
  setAlias(model: string, alias: string, version: number, movedBy: string, reason?: string): Promise<AliasRecord>;
  /**
   * Register a new version atomically: allocates the next number, writes every file, writes
   * the manifest last. Returns the manifest written.
   */
  register(input: RegisterInput): Promise<ModelManifest>;
  /** Re-hash every file of a version against its manifest; lists the problems (empty when sound). */
  verify(model: string, version: number): Promise<string[]>;
}

/** What `register` takes. sha256/bytes and version/createdAt are filled in by the registry. */
export interface RegisterInput {
  readonly model: string;
  readonly artefact: Buffer;
  readonly modelCard: string;
  readonly reference: ReferenceStatistics;
  readonly signature: ModelSignature;
  readonly metrics: Readonly<Record<string, number>>;
  readonly sliceMetrics?: ModelManifest['sliceMetrics'];
  readonly parameters: ModelManifest['parameters'];
  readonly lineage: Lineage;
  readonly gate?: ModelManifest['gate'];
}

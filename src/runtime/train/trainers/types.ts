/**
 * The contract between the training harness and the built-in trainers.
 * Data is dense, row-major, float64: row i, feature j is `x[i * d + j]`.
 */
export interface Matrix {
  readonly x: Float64Array;
  /** Rows. */
  readonly n: number;
  /** Columns (features). */
  readonly d: number;
}

/** Hyperparameters: flat, JSON-serialisable, recorded in the manifest. */
export type Params = Readonly<Record<string, string | number | boolean>>;

export interface FitOptions {
  /** Seed for every random choice the trainer makes. */
  readonly seed: number;
  /** Called now and then with a fraction in [0, 1] and a short message. */
  readonly onProgress?: (fraction: number, message: string) => void;
}

/** What a fitted model predicts for n rows. */
export interface Prediction {
  /** Classification: predicted class label per row (a value from `classes`). */
  readonly labels?: Float64Array;
  /** Classification: probabilities, row-major n x k (k = classes.length). */
  readonly probabilities?: Float64Array;
  /** Regression: predicted value per row. */
  readonly values?: Float64Array;
}

/** Names of the ONNX graph's tensors, fixed for every built-in trainer. */
export const ONNX_INPUT = 'input';
export const ONNX_LABEL = 'label';
export const ONNX_PROBABILITIES = 'probabilities';
export const ONNX_VARIABLE = 'variable';

export interface FittedModel {
  readonly task: 'classification' | 'regression';
  /** Class labels in probability-column order (classification only). */
  readonly classes?: readonly number[];
  /** Hyperparameters actually used (defaults filled in). */
  readonly params: Params;
  predict(data: Matrix): Prediction;
  /**
   * Serialise as an ONNX model (opset and IR version fixed by the exporter) taking one FP32
   * (or FP64 where stated) tensor `input` of shape [-1, d] and returning, for classification,
   * `label` (INT64 [-1]) and `probabilities` (FP32 [-1, k]); for regression `variable`
   * (FP32 [-1, 1]). onnxruntime-node must reproduce `predict` within 1e-6 (on float32 inputs).
   */
  toOnnx(meta: { readonly modelName: string; readonly featureNames: readonly string[] }): Uint8Array;
}

export interface Trainer {
  /** Stable name recorded in lineage (`logistic-regression`, `ridge`, `mlp`, ...). */
  readonly name: string;
  readonly task: 'classification' | 'regression';
  /** Default hyperparameters; `fit` validates what it is given against these names and types. */
  readonly defaults: Params;
  fit(data: Matrix, y: Float64Array, params: Params, options: FitOptions): FittedModel;
}

/**
 * The built-in trainers, by name. Each fits on a dense float64 matrix and returns a model
 * that predicts in process and exports ONNX (see `./types` for the contract, `./dense` for
 * the exported graph and its arithmetic).
 */
import type { BuiltInTrainer } from './dense';
import { logisticRegression } from './logistic-regression';
import { mlpClassifier, mlpRegressor } from './mlp';
import { ridge } from './ridge';
import { InputError } from '../../errors';

export type { BuiltInTrainer, DenseHead, DenseLayer, DenseModel, FitDiagnostics } from './dense';
export type { ParamSpec, ParamSpecs } from './params';
export * from './types';

/** Every built-in trainer, in documentation order. */
export const TRAINERS: readonly BuiltInTrainer[] = [logisticRegression, ridge, mlpClassifier, mlpRegressor];

/** The built-in trainer called `name`; throws an {@link InputError} naming the known ones. */
export function getTrainer(name: string): BuiltInTrainer {
  const trainer = TRAINERS.find((t) => t.name === name);
  if (!trainer) {
    throw new InputError('trainer', `unknown built-in trainer ${JSON.stringify(name)}; expected one of: ${TRAINERS.map((t) => t.name).join(', ')}`);
  }
  return trainer;
}

export { logisticRegression, mlpClassifier, mlpRegressor, ridge };

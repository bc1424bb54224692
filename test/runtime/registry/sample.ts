import { ReferenceStatistics, RegisterInput } from '../../../src/runtime/registry/types';

/** A small, valid registration: the registry does not interpret the artefact's bytes. */
export function sampleInput(model: string, tag = 'a', overrides: Partial<RegisterInput> = {}): RegisterInput {
  const reference: ReferenceStatistics = {
    schemaVersion: 1,
    rows: 3,
    quantileLevels: [0.5],
    sampleSize: 10,
    features: [{ name: 'x', kind: 'numeric', count: 3, missing: 0, distinct: 3, min: 1, max: 3, mean: 2, std: 1, quantiles: [2], histogram: { binEdges: [1, 2, 3], counts: [1, 2] }, sample: [1, 2, 3] }],
    prediction: { name: 'prediction', kind: 'categorical', count: 3, missing: 0, distinct: 2, frequencies: { 0: 1, 1: 2 } },
    metrics: { accuracy: 0.9 },
  };
  return {
    model,
    artefact: Buffer.from(`onnx bytes ${tag}`),
    modelCard: `# ${model}\n\ncard ${tag}\n`,
    reference,
    signature: {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 1] }],
      outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
      featureNames: ['x'],
      target: 'y',
      task: 'classification',
      classes: [0, 1],
    },
    metrics: { accuracy: 0.9 },
    parameters: { l2: 1 },
    lineage: { codeCommit: 'abc', dataHash: 'f'.repeat(64), dataUri: 'data.csv', trainer: 'test', trainerVersion: '0', createdBy: 'test@host', seed: 1 },
    ...overrides,
  };
}

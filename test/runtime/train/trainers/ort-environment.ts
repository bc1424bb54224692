// eslint-disable-next-line import/no-extraneous-dependencies -- ships with jest (its default test environment)
import NodeEnvironment from 'jest-environment-node';

/**
 * Jest runs each test file in its own realm with its own typed-array constructors;
 * onnxruntime-node creates output arrays in the host realm and onnxruntime-common checks them
 * with `instanceof` of the test realm, which fails for FP32/INT64 outputs. This environment
 * hands the test realm the host's typed-array constructors, as a plain `node` process has.
 * Used by the test files here that run exported models
 * (`@jest-environment ./test/runtime/train/trainers/ort-environment.ts`).
 */
export default class OrtEnvironment extends NodeEnvironment {
  async setup(): Promise<void> {
    await super.setup();
    const g = this.global as unknown as Record<string, unknown>;
    for (const name of [
      'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
      'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
    ]) {
      g[name] = (globalThis as unknown as Record<string, unknown>)[name];
    }
  }
}

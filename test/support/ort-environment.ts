// eslint-disable-next-line import/no-extraneous-dependencies -- ships with jest (its default node environment)
import NodeEnvironment from 'jest-environment-node';

/**
 * Jest's node environment runs each test file in its own realm, with its own typed-array
 * constructors (only Uint8Array is shared with the host). onnxruntime-node's native binding
 * creates its output arrays in the host realm, and onnxruntime-common then checks them with
 * `instanceof Float32Array` (of the test realm), which fails for every output that is not
 * UINT8/BOOL. This environment gives the test realm the host's typed-array constructors, as a
 * plain `node` process has. It is the project's default jest environment (.projenrc.ts), so
 * every test file can run inference.
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

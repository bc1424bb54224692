import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainConfig, TrainConfigInput, TrainConfigSchema } from '../../../../src/runtime/config/train';

/** The fixture data sets (copies of ../shared/data). */
export const DATA = path.resolve(__dirname, '..', '..', '..', 'fixtures', 'data');

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A validated config from a partial one (defaults filled in as the CLI would). */
export function config(input: TrainConfigInput): TrainConfig {
  return TrainConfigSchema.parse(input);
}

/** `node` with ts-node, to run a TypeScript script as a separate process. */
export function tsNodeCommand(script: string, ...args: string[]): string {
  const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  return [process.execPath, '-r', require.resolve('ts-node/register/transpile-only'), script, ...args].map(quote).join(' ');
}

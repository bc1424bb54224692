import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Runs once before the jest workers start: gives the whole run its own TMPDIR (inherited by
 * the workers and every process they spawn), so that stray files such as onnxruntime-node's
 * `mat-debug-<pid>.log` land in one folder that is removed afterwards.
 */
export default function globalSetup(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-test-'));
  process.env.TMPDIR = dir;
  process.env.CDK_MLOPS_TEST_TMPDIR = dir;
}

import * as fs from 'node:fs';

/** Removes the run's TMPDIR made by global-setup. */
export default function globalTeardown(): void {
  const dir = process.env.CDK_MLOPS_TEST_TMPDIR;
  if (dir && fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
}

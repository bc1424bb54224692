/**
 * A registry writer run as its own process by the concurrency and crash tests:
 *   writer.ts <registry-uri> <model> <count> [pause-after-claim|pause-before-manifest|wait-for:<file>]
 * Registers <count> versions and prints one `REGISTERED <n>` line per version; with a pause
 * mode, prints `PAUSED <n>` at that point of its first registration and waits to be killed;
 * with `wait-for:<file>`, prints `READY` once loaded and starts when <file> exists (a start
 * barrier, so that every writer races from the same moment).
 * S3 settings come from CDK_MLOPS_S3_ENDPOINT / CDK_MLOPS_S3_FORCE_PATH_STYLE / AWS_* env.
 */
import * as fs from 'node:fs';
import { sampleInput } from './sample';
import { openRegistry } from '../../../src/runtime/registry/registry';

async function main(): Promise<void> {
  const [uri, model, countText, mode] = process.argv.slice(2);
  const pause = async (stage: string, version: number): Promise<void> => {
    process.stdout.write(`PAUSED ${version}\n`);
    await new Promise(() => setInterval(() => undefined, 1000));
    throw new Error(`unreachable ${stage}`);
  };
  const registry = openRegistry(uri, {
    hooks: {
      afterClaim: mode === 'pause-after-claim' ? (v) => pause('claim', v) : undefined,
      beforeManifest: mode === 'pause-before-manifest' ? (v) => pause('manifest', v) : undefined,
    },
  });
  if (mode?.startsWith('wait-for:')) {
    process.stdout.write('READY\n');
    const file = mode.slice('wait-for:'.length);
    for (let i = 0; i < 12_000 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 5));
  }
  for (let i = 0; i < Number(countText); i++) {
    const manifest = await registry.register(sampleInput(model, `${process.pid}-${i}`));
    process.stdout.write(`REGISTERED ${manifest.version}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});

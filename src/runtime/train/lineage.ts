import { spawnSync } from 'node:child_process';

/**
 * The code commit recorded in lineage: `git rev-parse HEAD` of the working directory (with
 * `-dirty` appended when tracked files have uncommitted changes), else the `GIT_COMMIT`
 * environment variable (set it in a container image built without `.git`), else `unknown`.
 */
export function codeCommit(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  const git = (...args: string[]): string | undefined => {
    const res = spawnSync('git', args, { cwd, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return res.status === 0 ? res.stdout.trim() : undefined;
  };
  const head = git('rev-parse', 'HEAD');
  if (head && /^[0-9a-f]{40,64}$/.test(head)) {
    const dirty = git('status', '--porcelain', '--untracked-files=no');
    return dirty ? `${head}-dirty` : head;
  }
  return env.GIT_COMMIT || 'unknown';
}

/** The version of this package, recorded as the built-in trainers' version. */
export function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

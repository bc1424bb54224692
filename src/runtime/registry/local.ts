import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PublishHooks, RegistryBackend } from './backend';

/** How long a local alias lock may be held before another writer considers it abandoned. */
const STALE_LOCK_MS = 30_000;
/** How long a writer waits for a local alias lock before giving up. */
const LOCK_WAIT_MS = 20_000;

function isCode(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}

async function writeDurably(file: string, body: Buffer, flags: string): Promise<void> {
  const handle = await fs.promises.open(file, flags, 0o644);
  try {
    await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The registry in a local directory. Atomicity comes from the file system: exclusive create
 * (`O_EXCL`) for claims, and for versions a staging directory (`<model>/.staging/`) that is
 * renamed into place in one step once every file, manifest last, is written and synced.
 * Alias records are replaced by write-to-temporary + rename under a lock file.
 */
export class LocalBackend implements RegistryBackend {
  public readonly uri: string;
  constructor(public readonly root: string) {
    this.uri = pathToFileURL(root).href;
  }

  locate(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.promises.readFile(this.locate(key));
    } catch (e) {
      if (isCode(e, 'ENOENT', 'ENOTDIR')) return undefined;
      throw e;
    }
  }

  async readTagged(key: string): Promise<{ body: Buffer; tag: string } | undefined> {
    const body = await this.read(key);
    return body && { body, tag: createHash('sha256').update(body).digest('hex') };
  }

  async createExclusive(key: string, body: Buffer): Promise<boolean> {
    const file = this.locate(key);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    try {
      await writeDurably(file, body, 'wx');
    } catch (e) {
      if (isCode(e, 'EEXIST')) return false;
      throw e;
    }
    await fsyncDir(path.dirname(file));
    return true;
  }

  async replaceIfUnchanged(key: string, body: Buffer, tag: string | undefined): Promise<boolean> {
    const file = this.locate(key);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const release = await this.lock(`${file}.lock`);
    try {
      const current = await this.readTagged(key);
      if ((current?.tag ?? undefined) !== tag) return false;
      const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeDurably(tmp, body, 'wx');
        await fs.promises.rename(tmp, file);
      } catch (e) {
        await fs.promises.rm(tmp, { force: true });
        throw e;
      }
      await fsyncDir(path.dirname(file));
      return true;
    } finally {
      await release();
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isCode(e, 'ENOENT', 'ENOTDIR')) return;
        throw e;
      }
      for (const entry of entries) {
        if (entry.isDirectory()) await walk(path.join(dir, entry.name), `${keyPrefix}${entry.name}/`);
        else out.push(`${keyPrefix}${entry.name}`);
      }
    };
    await walk(this.locate(prefix), prefix);
    return out;
  }

  async publish(dir: string, files: readonly (readonly [string, Buffer])[], manifest: Buffer, hooks: PublishHooks): Promise<void> {
    const target = this.locate(dir);
    const modelDir = path.dirname(path.dirname(target));
    const stagingRoot = path.join(modelDir, '.staging');
    await fs.promises.mkdir(stagingRoot, { recursive: true });
    const staging = path.join(stagingRoot, `${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}`);
    await fs.promises.mkdir(staging);
    try {
      for (const [name, body] of files) await writeDurably(path.join(staging, name), body, 'wx');
      await hooks.beforeManifest?.();
      await writeDurably(path.join(staging, 'manifest.json'), manifest, 'wx');
      await fsyncDir(staging);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      // rename(2) replaces an empty directory silently; the claim guarantees there is none,
      // and a non-empty one makes it fail (ENOTEMPTY/EEXIST), never merge.
      await fs.promises.rename(staging, target);
      await fsyncDir(path.dirname(target));
    } catch (e) {
      await fs.promises.rm(staging, { recursive: true, force: true });
      throw e;
    }
  }

  /** Takes `lockFile` (exclusive create), breaking a lock older than {@link STALE_LOCK_MS}. */
  private async lock(lockFile: string): Promise<() => Promise<void>> {
    const token = `${process.pid}.${randomBytes(6).toString('hex')}`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await writeDurably(lockFile, Buffer.from(token), 'wx');
        return async () => {
          const held = await fs.promises.readFile(lockFile, 'utf8').catch(() => undefined);
          if (held === token) await fs.promises.rm(lockFile, { force: true });
        };
      } catch (e) {
        if (!isCode(e, 'EEXIST')) throw e;
      }
      const stat = await fs.promises.stat(lockFile).catch(() => undefined);
      if (stat && Date.now() - stat.mtimeMs > STALE_LOCK_MS) {
        // Move it aside under a unique name first, so two writers never both delete a fresh lock.
        const aside = `${lockFile}.${token}.stale`;
        await fs.promises.rename(lockFile, aside).then(() => fs.promises.rm(aside, { force: true }), () => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${LOCK_WAIT_MS} ms waiting for lock ${lockFile} (remove it if no writer is running)`);
      }
      await sleep(Math.min(100, 2 + attempt * 3) * (0.5 + Math.random()));
    }
  }
}

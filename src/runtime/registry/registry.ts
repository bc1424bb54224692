import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { InputError, IntegrityError, NotFoundError } from '../errors';
import { RegistryBackend } from './backend';
import { LocalBackend } from './local';
import type { S3Options } from './s3';
import { aliasSchema, checkAliasName, checkModelName, manifestSchema, referenceSchema } from './schema';
import {
  AliasRecord,
  LoadedVersion,
  MANIFEST_SCHEMA_VERSION,
  ModelManifest,
  ModelRegistryClient,
  ReferenceStatistics,
  RegisterInput,
  VersionRef,
} from './types';
import { compareStrings } from '../../util/compare';

/**
 * The model registry: one implementation of {@link ModelRegistryClient} over two storage
 * backends with the same layout (see `./types.ts`), plus, beside that layout:
 *
 * ```
 * <root>/models/<model>/claims/<version>.json   a version number's claim (exclusive create)
 * <root>/models/<model>/.staging/...            local backend only: versions being written
 * ```
 *
 * **Numbering.** A writer claims the next number by creating `claims/<n>.json` exclusively
 * (`O_EXCL` locally, `If-None-Match: *` on S3); on a conflict it tries `n+1`. Only then does it
 * write the version's files, the manifest last (locally in a staging directory renamed into
 * place in one step). A claimed number is never given out again: a writer that crashes between
 * its claim and its manifest leaves a gap (the claim records who and when, and
 * {@link Registry.listAbandonedClaims} shows it), never a visible half version and never a
 * number shared by two versions. Without crashes the numbers are exactly 1..n.
 *
 * **Integrity.** Every read of a version file (artefact, card, reference statistics) re-hashes
 * the bytes against the manifest's sha256 and refuses a mismatch with an {@link IntegrityError}
 * naming the file and both hashes. Documents read back are validated against the schemas in
 * `./schema.ts`.
 */
export class Registry implements ModelRegistryClient {
  /** Bounds the claim loop: this many numbers tried in a row means something is wrong. */
  private static readonly MAX_CLAIM_ATTEMPTS = 10_000;
  /** Bounds the alias compare-and-swap loop. */
  private static readonly MAX_ALIAS_ATTEMPTS = 100;

  public readonly uri: string;

  constructor(private readonly backend: RegistryBackend, private readonly options: RegistryOptions = {}) {
    this.uri = backend.uri;
  }

  async listModels(): Promise<string[]> {
    const keys = await this.backend.list('models/');
    const models = new Set<string>();
    for (const key of keys) {
      const m = /^models\/([^/]+)\/versions\/([1-9][0-9]*)\/manifest\.json$/.exec(key);
      if (m) models.add(m[1]);
    }
    return [...models].sort();
  }

  async listVersions(model: string): Promise<number[]> {
    this.checkModel(model);
    const keys = await this.backend.list(`models/${model}/versions/`);
    const versions: number[] = [];
    for (const key of keys) {
      const m = /\/versions\/([1-9][0-9]*)\/manifest\.json$/.exec(key);
      if (m) versions.push(Number(m[1]));
    }
    return versions.sort((a, b) => a - b);
  }

  /**
   * Claims whose version never got a manifest: writers that crashed (or are still writing,
   * when `claimedAt` is recent). Each is a gap in the numbering.
   */
  async listAbandonedClaims(model: string): Promise<ClaimRecord[]> {
    this.checkModel(model);
    const visible = new Set(await this.listVersions(model));
    const out: ClaimRecord[] = [];
    for (const key of await this.backend.list(`models/${model}/claims/`)) {
      const m = /\/claims\/([1-9][0-9]*)\.json$/.exec(key);
      if (!m || visible.has(Number(m[1]))) continue;
      const body = await this.backend.read(key);
      const parsed = body ? claimSchema.safeParse(safeJson(body)) : undefined;
      out.push(parsed?.success ? parsed.data : { version: Number(m[1]), claimedAt: 'unknown', claimedBy: 'unknown' });
    }
    return out.sort((a, b) => a.version - b.version);
  }

  async resolve(model: string, ref: VersionRef): Promise<number> {
    this.checkModel(model);
    const asNumber = typeof ref === 'number' ? ref : /^[0-9]+$/.test(ref) ? Number(ref) : undefined;
    if (asNumber !== undefined) {
      if (!Number.isInteger(asNumber) || asNumber < 1) {
        throw new InputError('version', `${JSON.stringify(ref)} is not a version: expected a positive integer or an alias name`);
      }
      const versions = await this.listVersions(model);
      if (!versions.includes(asNumber)) throw new NotFoundError(`model '${model}' has no version ${asNumber} in ${this.uri}; ${describeVersions(versions)}`);
      return asNumber;
    }
    const name = String(ref);
    if (name === 'latest') {
      const versions = await this.listVersions(model);
      if (!versions.length) throw new NotFoundError(`model '${model}' has no versions in ${this.uri}`);
      return versions[versions.length - 1];
    }
    const aliasError = checkAliasName(name);
    if (aliasError) throw new InputError('version', aliasError);
    const record = await this.readAlias(model, name);
    if (!record) {
      const aliases = (await this.listAliases(model)).map((a) => a.alias);
      throw new NotFoundError(`model '${model}' has no alias '${name}' in ${this.uri}; ${aliases.length ? `aliases: ${aliases.join(', ')}` : 'it has no aliases'}`);
    }
    return record.version;
  }

  async getManifest(model: string, version: number): Promise<ModelManifest> {
    this.checkModel(model);
    const key = `models/${model}/versions/${version}/manifest.json`;
    const body = await this.backend.read(key);
    if (!body) {
      const versions = await this.listVersions(model);
      throw new NotFoundError(`model '${model}' has no version ${version} in ${this.uri}; ${describeVersions(versions)}`);
    }
    const manifest = this.parseDocument(manifestSchema, body, key) as ModelManifest;
    if (manifest.model !== model || manifest.version !== version) {
      throw new IntegrityError(`${this.backend.locate(key)} describes model '${manifest.model}' version ${manifest.version}, not model '${model}' version ${version}`);
    }
    return manifest;
  }

  async load(model: string, ref: VersionRef): Promise<LoadedVersion> {
    const version = await this.resolve(model, ref);
    const manifest = await this.getManifest(model, version);
    const artefact = await this.readVerified(manifest, ARTEFACT);
    return { manifest, artefact };
  }

  async getReference(model: string, version: number): Promise<ReferenceStatistics> {
    const manifest = await this.getManifest(model, version);
    const body = await this.readVerified(manifest, REFERENCE);
    return this.parseDocument(referenceSchema, body, `models/${model}/versions/${version}/${REFERENCE}`) as ReferenceStatistics;
  }

  async getModelCard(model: string, version: number): Promise<string> {
    const manifest = await this.getManifest(model, version);
    return (await this.readVerified(manifest, MODEL_CARD)).toString('utf8');
  }

  async listAliases(model: string): Promise<AliasRecord[]> {
    this.checkModel(model);
    const out: AliasRecord[] = [];
    for (const key of await this.backend.list(`models/${model}/aliases/`)) {
      const m = /\/aliases\/([^/]+)\.json$/.exec(key);
      if (!m) continue;
      const record = await this.readAlias(model, m[1]);
      if (record) out.push(record);
    }
    return out.sort((a, b) => compareStrings(a.alias, b.alias));
  }

  async setAlias(model: string, alias: string, version: number, movedBy: string, reason?: string): Promise<AliasRecord> {
    this.checkModel(model);
    const aliasError = checkAliasName(alias);
    if (aliasError) throw new InputError('alias', aliasError);
    if (!movedBy) throw new InputError('movedBy', 'must name who moves the alias');
    const versions = await this.listVersions(model);
    if (!versions.includes(version)) throw new NotFoundError(`cannot point alias '${alias}' of model '${model}' at version ${version}: ${describeVersions(versions)}`);
    const key = `models/${model}/aliases/${alias}.json`;
    for (let attempt = 0; attempt < Registry.MAX_ALIAS_ATTEMPTS; attempt++) {
      const current = await this.backend.readTagged(key);
      const previous = current ? this.parseDocument(aliasSchema, current.body, key) as AliasRecord : undefined;
      const record: AliasRecord = {
        model,
        alias,
        version,
        history: [
          ...(previous?.history ?? []),
          { version, movedAt: this.now().toISOString(), movedBy, ...(reason ? { reason } : {}) },
        ],
      };
      if (await this.backend.replaceIfUnchanged(key, Buffer.from(JSON.stringify(record, null, 2) + '\n'), current?.tag)) return record;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * (attempt + 1)));
    }
    throw new Error(`could not move alias '${alias}' of model '${model}': ${Registry.MAX_ALIAS_ATTEMPTS} concurrent updates in a row`);
  }

  async register(input: RegisterInput): Promise<ModelManifest> {
    this.checkModel(input.model);
    if (!input.artefact?.length) throw new InputError('artefact', `the model artefact of '${input.model}' is empty`);
    const reference = referenceSchema.safeParse(input.reference);
    if (!reference.success) throw new InputError('reference statistics', reference.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const files: (readonly [string, Buffer])[] = [
      [ARTEFACT, Buffer.from(input.artefact)],
      [MODEL_CARD, Buffer.from(input.modelCard, 'utf8')],
      [REFERENCE, Buffer.from(JSON.stringify(input.reference) + '\n')],
    ];
    const fileHashes: Record<string, { sha256: string; bytes: number }> = {};
    for (const [name, body] of files) fileHashes[name] = { sha256: sha256(body), bytes: body.length };

    const version = await this.claimNextVersion(input.model);
    await this.options.hooks?.afterClaim?.(version);
    const manifest: ModelManifest = {
      schemaVersion: MANIFEST_SCHEMA_VERSION,
      model: input.model,
      version,
      createdAt: this.now().toISOString(),
      files: fileHashes,
      signature: input.signature,
      metrics: input.metrics,
      ...(input.sliceMetrics ? { sliceMetrics: input.sliceMetrics } : {}),
      parameters: input.parameters,
      lineage: input.lineage,
      ...(input.gate ? { gate: input.gate } : {}),
    };
    const checked = manifestSchema.safeParse(manifest);
    if (!checked.success) throw new InputError('manifest', checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    await this.backend.publish(`models/${input.model}/versions/${version}`, files, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), {
      beforeManifest: this.options.hooks?.beforeManifest && (() => this.options.hooks!.beforeManifest!(version)),
    });
    return manifest;
  }

  async verify(model: string, version: number): Promise<string[]> {
    let manifest: ModelManifest;
    try {
      manifest = await this.getManifest(model, version);
    } catch (e) {
      if (e instanceof NotFoundError) throw e;
      return [(e as Error).message];
    }
    const problems: string[] = [];
    for (const name of Object.keys(manifest.files).sort()) {
      try {
        await this.readVerified(manifest, name);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    const dir = `models/${model}/versions/${version}/`;
    for (const key of (await this.backend.list(dir)).sort()) {
      const name = key.slice(dir.length);
      if (name !== 'manifest.json' && !(name in manifest.files)) {
        problems.push(`${this.backend.locate(key)} is not listed in the manifest of model '${model}' version ${version} (versions are immutable)`);
      }
    }
    return problems;
  }

  private async claimNextVersion(model: string): Promise<number> {
    let next = 1;
    for (const key of [...await this.backend.list(`models/${model}/claims/`), ...await this.backend.list(`models/${model}/versions/`)]) {
      const m = /\/(?:claims|versions)\/([1-9][0-9]*)(?:\.json|\/)/.exec(key);
      if (m) next = Math.max(next, Number(m[1]) + 1);
    }
    const claimedBy = this.options.createdBy ?? defaultCreatedBy();
    for (let attempt = 0; attempt < Registry.MAX_CLAIM_ATTEMPTS; attempt++, next++) {
      const claim: ClaimRecord = { version: next, claimedAt: this.now().toISOString(), claimedBy };
      if (await this.backend.createExclusive(`models/${model}/claims/${next}.json`, Buffer.from(JSON.stringify(claim) + '\n'))) return next;
    }
    throw new Error(`could not claim a version number for model '${model}' after ${Registry.MAX_CLAIM_ATTEMPTS} attempts`);
  }

  private async readVerified(manifest: ModelManifest, name: string): Promise<Buffer> {
    const expected = manifest.files[name];
    const key = `models/${manifest.model}/versions/${manifest.version}/${name}`;
    const where = this.backend.locate(key);
    if (!expected) throw new IntegrityError(`${where}: the manifest of model '${manifest.model}' version ${manifest.version} lists no file '${name}'`);
    const body = await this.backend.read(key);
    if (!body) throw new IntegrityError(`${where} is missing, but the manifest of model '${manifest.model}' version ${manifest.version} lists it (sha256 ${expected.sha256})`);
    const actual = sha256(body);
    if (actual !== expected.sha256) {
      throw new IntegrityError(`${where} of model '${manifest.model}' version ${manifest.version} fails verification: its sha256 is ${actual}, the manifest says ${expected.sha256} (${body.length} bytes, manifest says ${expected.bytes}); refusing to use it`);
    }
    return body;
  }

  private async readAlias(model: string, alias: string): Promise<AliasRecord | undefined> {
    const key = `models/${model}/aliases/${alias}.json`;
    const body = await this.backend.read(key);
    return body && this.parseDocument(aliasSchema, body, key) as AliasRecord;
  }

  private parseDocument<S extends z.ZodType>(schema: S, body: Buffer, key: string): z.output<S> {
    const value = safeJson(body);
    if (value === undefined) throw new IntegrityError(`${this.backend.locate(key)} is not valid JSON`);
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new IntegrityError(`${this.backend.locate(key)} does not match its schema: ${parsed.error.issues.map((i) => `'${i.path.join('.') || '(root)'}': ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  }

  private checkModel(model: string): void {
    const error = checkModelName(model);
    if (error) throw new InputError('model', error);
  }

  private now(): Date {
    return this.options.clock?.() ?? new Date();
  }
}

/** File names of a version, as in the layout of `./types.ts`. */
export const ARTEFACT = 'model.onnx';
export const MODEL_CARD = 'model-card.md';
export const REFERENCE = 'reference.json';

/** A version number's claim (`claims/<n>.json`). */
export interface ClaimRecord {
  readonly version: number;
  readonly claimedAt: string;
  readonly claimedBy: string;
}
const claimSchema = z.object({ version: z.number().int(), claimedAt: z.string(), claimedBy: z.string() });

/** Options of {@link openRegistry}. */
export interface RegistryOptions {
  /** S3 client settings, for `s3://` URIs. @default - the SDK's defaults and the environment */
  readonly s3?: S3Options;
  /** Recorded in version claims. @default - `CDK_MLOPS_CREATED_BY`, else `user@host` */
  readonly createdBy?: string;
  /** Time source for `createdAt` and alias history. @default - the system clock */
  readonly clock?: () => Date;
  /**
   * Called at points of `register`, so that tests can stop a writer there (e.g. SIGKILL it
   * after its claim). A hook that throws aborts the registration.
   */
  readonly hooks?: {
    readonly afterClaim?: (version: number) => Promise<void>;
    readonly beforeManifest?: (version: number) => Promise<void>;
  };
}

/**
 * Opens the registry at `uri`: `s3://bucket/prefix` for S3, a `file://` URI or a path (relative
 * to the working directory) for a local directory (created on first registration).
 */
export function openRegistry(uri: string, options: RegistryOptions = {}): Registry {
  if (!uri) throw new InputError('registry', 'no registry URI given: expected a directory path, file:// URI or s3://bucket/prefix');
  if (uri.startsWith('s3://')) {
    try {
      // Loaded on demand: the AWS SDK costs start-up time that a local registry need not pay.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { S3Backend } = require('./s3') as typeof import('./s3');
      return new Registry(new S3Backend(uri, options.s3), options);
    } catch (e) {
      throw new InputError('registry', (e as Error).message);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
    throw new InputError('registry', `URI ${JSON.stringify(uri)} has an unsupported scheme: expected a path, file:// or s3://`);
  }
  const dir = uri.startsWith('file://') ? fileURLToPath(uri) : path.resolve(uri);
  return new Registry(new LocalBackend(dir), options);
}

/** `CDK_MLOPS_CREATED_BY`, else `user@host`. */
export function defaultCreatedBy(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CDK_MLOPS_CREATED_BY) return env.CDK_MLOPS_CREATED_BY;
  let user = env.USER ?? env.LOGNAME ?? 'unknown';
  try {
    user = os.userInfo().username || user;
  } catch {
    // no passwd entry (a container running as an arbitrary uid)
  }
  return `${user}@${os.hostname()}`;
}

/** Hex sha256 of some bytes. */
export function sha256(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function describeVersions(versions: readonly number[]): string {
  if (!versions.length) return 'it has no versions';
  if (versions.length > 12) return `its versions are ${versions.slice(0, 5).join(', ')}, ..., ${versions.slice(-5).join(', ')}`;
  return `its versions are ${versions.join(', ')}`;
}

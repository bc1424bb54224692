/**
 * The storage primitives the registry needs, implemented once per backend (a local directory,
 * an S3 prefix). Keys are `/`-separated paths relative to the registry root, as in the layout
 * of `./types.ts`. Everything above these primitives (numbering, verification, aliases) is
 * written once, in `./registry.ts`.
 */
export interface RegistryBackend {
  /** `file:///abs/path` or `s3://bucket/prefix`. */
  readonly uri: string;
  /** Where a key lives, for error messages (an absolute path or an `s3://` URI). */
  locate(key: string): string;
  /** The bytes of a key, or undefined when it does not exist. */
  read(key: string): Promise<Buffer | undefined>;
  /**
   * The bytes of a key and an opaque tag that changes whenever the object is replaced (the S3
   * ETag; a content hash locally), or undefined when it does not exist.
   */
  readTagged(key: string): Promise<{ readonly body: Buffer; readonly tag: string } | undefined>;
  /**
   * Creates `key` only if it does not exist (local: `open(..., 'wx')`; S3: `If-None-Match: *`).
   * Returns false, writing nothing, when it already exists.
   */
  createExclusive(key: string, body: Buffer): Promise<boolean>;
  /**
   * Replaces `key` atomically only if its tag is still `tag` (or, with `tag` undefined, only if
   * it does not exist). Returns false, writing nothing, when someone else got there first.
   */
  replaceIfUnchanged(key: string, body: Buffer, tag: string | undefined): Promise<boolean>;
  /** Every key under `prefix` (which ends with `/`), recursively, in no particular order. */
  list(prefix: string): Promise<string[]>;
  /**
   * Makes a whole version directory visible: writes `files` (in order) under `dir` and then
   * `manifest.json` last. Readers consider a version to exist only once its manifest is there;
   * a crash at any point before leaves nothing a reader sees.
   */
  publish(dir: string, files: readonly (readonly [string, Buffer])[], manifest: Buffer, hooks: PublishHooks): Promise<void>;
}

/** Called at the steps of a publication (tests use them to crash a writer at a chosen point). */
export interface PublishHooks {
  /** After every file but the manifest was written, before the manifest is. */
  readonly beforeManifest?: () => Promise<void>;
}

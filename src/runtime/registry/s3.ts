import {
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  S3ClientConfig,
} from '@aws-sdk/client-s3';
import { PublishHooks, RegistryBackend } from './backend';

/**
 * How to reach S3. Every field is optional: by default the AWS SDK's own chain applies (region
 * from `AWS_REGION`, credentials from the environment, web identity / IRSA / Pod Identity, ...).
 */
export interface S3Options {
  /** Endpoint URL (an S3-compatible store, a VPC endpoint, a test server).
   * @default - `CDK_MLOPS_S3_ENDPOINT`, else the SDK's default for the region */
  readonly endpoint?: string;
  /** Path-style addressing (`https://host/bucket/key`).
   * @default - true when `CDK_MLOPS_S3_FORCE_PATH_STYLE` is `true` or `1`, else false */
  readonly forcePathStyle?: boolean;
  /** @default - `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1` */
  readonly region?: string;
  /** Static credentials (tests, S3-compatible stores). @default - the SDK's credential chain */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** An already configured client; when given, every other field is ignored. */
  readonly client?: S3Client;
}

/** Creates an S3 client from options and the environment (see {@link S3Options}). */
export function createS3Client(options: S3Options = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  if (options.client) return options.client;
  const endpoint = options.endpoint ?? env.CDK_MLOPS_S3_ENDPOINT;
  const pathStyleEnv = (env.CDK_MLOPS_S3_FORCE_PATH_STYLE ?? '').toLowerCase();
  const config: S3ClientConfig = {
    region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? (pathStyleEnv === 'true' || pathStyleEnv === '1'),
    ...(endpoint ? { endpoint } : {}),
    ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
  };
  return new S3Client(config);
}

/** Splits `s3://bucket/some/prefix` into bucket and key prefix (no leading or trailing `/`). */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) {
    throw new Error(`S3 URI ${JSON.stringify(uri)} is invalid: expected s3://<bucket>[/<prefix>] with a valid bucket name`);
  }
  return { bucket: m[1], key: m[2].replace(/\/+$/, '') };
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function errorName(e: unknown): string {
  return (e as { name?: string })?.name ?? '';
}

/** Reads a whole object, or undefined when it does not exist. */
export async function getS3Object(client: S3Client, bucket: string, key: string): Promise<{ body: Buffer; etag: string } | undefined> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await out.Body!.transformToByteArray();
    return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), etag: out.ETag ?? '' };
  } catch (e) {
    if (httpStatus(e) === 404 || errorName(e) === 'NoSuchKey') return undefined;
    throw e;
  }
}

/**
 * The registry under an S3 prefix. Claims and the manifest are written with conditional
 * requests (`If-None-Match: *`), alias records with `If-Match: <etag>`, so S3 itself arbitrates
 * between concurrent writers (S3 supports both since 2024; so do MinIO and most compatibles).
 */
export class S3Backend implements RegistryBackend {
  public readonly uri: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(uri: string, options: S3Options = {}) {
    const { bucket, key } = parseS3Uri(uri);
    this.bucket = bucket;
    this.prefix = key ? `${key}/` : '';
    this.uri = `s3://${bucket}${key ? `/${key}` : ''}`;
    this.client = createS3Client(options);
  }

  locate(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  async read(key: string): Promise<Buffer | undefined> {
    return (await getS3Object(this.client, this.bucket, this.prefix + key))?.body;
  }

  async readTagged(key: string): Promise<{ body: Buffer; tag: string } | undefined> {
    const got = await getS3Object(this.client, this.bucket, this.prefix + key);
    return got && { body: got.body, tag: got.etag };
  }

  async createExclusive(key: string, body: Buffer): Promise<boolean> {
    return this.conditionalPut(key, body, { IfNoneMatch: '*' });
  }

  async replaceIfUnchanged(key: string, body: Buffer, tag: string | undefined): Promise<boolean> {
    return this.conditionalPut(key, body, tag === undefined ? { IfNoneMatch: '*' } : { IfMatch: tag });
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    // Bounded: a listing of more than 10 million keys under one model is not a registry.
    for (let page = 0; page < 10_000; page++) {
      const res: ListObjectsV2CommandOutput = await this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.prefix + prefix,
        ContinuationToken: token,
      }));
      for (const obj of res.Contents ?? []) if (obj.Key) out.push(obj.Key.slice(this.prefix.length));
      if (!res.IsTruncated || !res.NextContinuationToken) return out;
      token = res.NextContinuationToken;
    }
    throw new Error(`listing ${this.locate(prefix)} did not end after 10000 pages`);
  }

  async publish(dir: string, files: readonly (readonly [string, Buffer])[], manifest: Buffer, hooks: PublishHooks): Promise<void> {
    for (const [name, body] of files) {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${dir}/${name}`, Body: body }));
    }
    await hooks.beforeManifest?.();
    if (!(await this.createExclusive(`${dir}/manifest.json`, manifest))) {
      throw new Error(`${this.locate(`${dir}/manifest.json`)} already exists: another writer published this version`);
    }
  }

  private async conditionalPut(key: string, body: Buffer, condition: { IfNoneMatch?: string; IfMatch?: string }): Promise<boolean> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: body, ...condition }));
      return true;
    } catch (e) {
      // 412: the condition failed; 409: a concurrent conditional write to the same key won.
      const status = httpStatus(e);
      if (status === 412 || status === 409 || errorName(e) === 'PreconditionFailed' || errorName(e) === 'ConditionalRequestConflict') return false;
      throw e;
    }
  }
}

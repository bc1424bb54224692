import { Construct } from 'constructs';
import { SecureBucket } from './cloud/secure-bucket';
import type { PolicyStatement } from './cloud/workload-identity';
import { PropValidator } from './errors';
import { MlPlatform, shortHash, Workload } from './platform';
import type { IModel, IModelRegistry, IModelVersion } from './refs';
import { TRAIN_MODEL_NAME_PATTERN } from '../runtime/config/train';
import { checkAliasName, checkModelName } from '../runtime/registry/schema';

/** Options of a registry kept under a prefix of the platform's artefact bucket. */
export interface PlatformBucketStorageOptions {
  /**
   * Key prefix of the registry inside the bucket (no leading or trailing `/`).
   * @default 'registry'
   */
  readonly prefix?: string;
}

/** Options of a registry with a bucket of its own. */
export interface OwnBucketStorageOptions {
  /**
   * Key prefix of the registry inside its bucket (no leading or trailing `/`).
   * @default 'registry'
   */
  readonly prefix?: string;
  /**
   * Days after which non-current object versions are deleted.
   * @default 90
   */
  readonly noncurrentVersionExpirationDays?: number;
}

/** Where a ModelRegistry keeps its versions. */
export class RegistryStorage {
  /**
   * A prefix of the platform's artefact bucket (KMS-encrypted with the platform key,
   * versioned, private, TLS only). The default: one bucket to operate, access scoped by prefix.
   */
  public static platformBucket(options: PlatformBucketStorageOptions = {}): RegistryStorage {
    return new RegistryStorage('platform', options);
  }

  /**
   * A bucket of its own (a `SecureBucket`: the same secure defaults), for a registry with its
   * own retention or its own bucket policy. Encrypted with the platform key.
   */
  public static ownBucket(options: OwnBucketStorageOptions = {}): RegistryStorage {
    return new RegistryStorage('own', options);
  }

  private constructor(
    /** @internal */ public readonly _kind: 'platform' | 'own',
    /** @internal */ public readonly _options: OwnBucketStorageOptions,
  ) {}
}

export interface ModelRegistryProps {
  /** @default RegistryStorage.platformBucket() - prefix `registry/` of the artefact bucket */
  readonly storage?: RegistryStorage;
}

const PREFIX_RE = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/;

/**
 * The model registry of a platform: an S3 location with the layout of
 * `src/runtime/registry/types.ts` (the one the `train`, `serve` and `monitor` runtimes read and
 * write), and least-privilege access to it.
 *
 * ```
 * s3://<bucket>/<prefix>/models/<model>/versions/<n>/{model.onnx,manifest.json,model-card.md,reference.json}
 * s3://<bucket>/<prefix>/models/<model>/aliases/<alias>.json
 * s3://<bucket>/<prefix>/models/<model>/claims/<n>.json      version-number claims (writers only)
 * ```
 *
 * Access is granted per model: `grantRead(workload, 'fraud')` lets a workload read every file of
 * `fraud` and nothing else; `grantWrite(workload, 'fraud')` lets it register versions and move
 * aliases of `fraud` only. Both include the KMS permissions S3 needs for the platform key,
 * restricted to use through S3 in the platform's region for this bucket.
 *
 * ```ts
 * const registry = new ModelRegistry(platform, 'registry');
 * const fraud = registry.model('fraud');
 * new ModelEndpoint(platform, 'fraud', { model: fraud.alias('champion') });
 * ```
 */
export class ModelRegistry extends Construct implements IModelRegistry {
  /** Registry URI the runtime opens (`s3://bucket/prefix`). */
  public readonly registryUri: string;
  public readonly bucketName: string;
  public readonly bucketArn: string;
  public readonly kmsKeyArn: string;
  /** Key prefix inside the bucket (no leading or trailing slash). */
  public readonly prefix: string;
  /** The bucket when the registry has its own (`RegistryStorage.ownBucket`). */
  public readonly bucket?: SecureBucket;

  private readonly platform: MlPlatform;
  private readonly models = new Map<string, RegistryModel>();
  private readonly modelNames: string[] = [];

  constructor(scope: Construct, id: string, props: ModelRegistryProps = {}) {
    super(scope, id);
    this.platform = MlPlatform.of(this);
    const storage = props.storage ?? RegistryStorage.platformBucket();
    const prefix = storage._options.prefix ?? 'registry';
    const v = new PropValidator(this);
    v.check(typeof prefix === 'string' && PREFIX_RE.test(prefix) && prefix.length <= 200 && !prefix.split('/').some((p) => p === '.' || p === '..'),
      'storage.prefix', prefix, "must be an S3 key prefix without leading or trailing '/', of segments of letters, digits and !_.*'()- (no '.' or '..' segments), at most 200 characters");
    const days = storage._options.noncurrentVersionExpirationDays ?? 90;
    v.check(Number.isInteger(days) && days >= 1, 'storage.noncurrentVersionExpirationDays', days, 'must be a whole number of days >= 1');
    v.throwIfAny();

    this.prefix = prefix;
    this.kmsKeyArn = this.platform.key.arn;
    if (storage._kind === 'own') {
      this.bucket = new SecureBucket(this.platform.cloudScope(this), 'bucket', {
        bucketName: this.platform.resourceName(63, 'registry', shortHash(`${this.platform.account}/${this.platform.region}/${this.node.path}`)),
        kmsKeyArn: this.platform.key.arn,
        noncurrentVersionExpirationDays: days,
      });
      this.bucketName = this.bucket.bucketName;
      this.bucketArn = this.bucket.bucketArn;
    } else {
      this.bucketName = this.platform.artifactBucket.bucketName;
      this.bucketArn = this.platform.artifactBucket.bucketArn;
    }
    this.registryUri = `s3://${this.bucketName}/${prefix}`;
    this.platform.addInventory({
      kind: 'model-registry',
      name: this.node.scopes.slice(this.node.scopes.indexOf(this.platform) + 1).map((c) => c.node.id).join('/'),
      uri: this.registryUri,
      bucket: this.bucketName,
      prefix,
      ownBucket: storage._kind === 'own',
      models: this.modelNames,
    });
  }

  /**
   * A model of this registry, by name (lower-case letters, digits, `.`, `_`, `-`; at most 63
   * characters: what both the registry and `cdk-mlops train` accept). The same object for the
   * same name; listed in platform.json.
   */
  public model(name: string): IModel {
    let m = this.models.get(name);
    if (!m) {
      const v = new PropValidator(this);
      const problem = checkModelName(name);
      if (problem) v.fail('model', name, problem.replace(/^model name .* is invalid: /, 'must be a model name: '));
      else v.check(TRAIN_MODEL_NAME_PATTERN.test(name), 'model', name, "must be a model name of lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 63 characters (what `cdk-mlops train` registers)");
      v.throwIfAny();
      m = new RegistryModel(this, name);
      this.models.set(name, m);
      this.modelNames.push(name);
      this.modelNames.sort();
    }
    return m;
  }

  /** `<prefix>/models/<model>` (or `<prefix>/models` for every model). */
  public modelPrefix(model?: string): string {
    if (model !== undefined) this.model(model);
    return model === undefined ? `${this.prefix}/models` : `${this.prefix}/models/${model}`;
  }

  /**
   * Lets `workload` read every file of one model (versions, aliases), or of every model when
   * `model` is omitted: `s3:GetObject` on the model's keys, `s3:ListBucket` limited to the
   * model's prefix, and `kms:Decrypt` of the platform key through S3 for this bucket.
   */
  public grantRead(workload: Workload, model?: string): void {
    const base = this.modelPrefix(model);
    const tag = model === undefined ? 'AllModels' : sidPart(model);
    add(workload, {
      Sid: `RegistryRead${tag}`,
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: `${this.bucketArn}/${base}/*`,
    });
    add(workload, {
      Sid: `RegistryList${tag}`,
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: this.bucketArn,
      Condition: { StringLike: { 's3:prefix': model === undefined ? [`${base}/`, `${base}/*`] : [`${base}/*`] } },
    });
    this.grantKey(workload, 'Read');
  }

  /**
   * Lets `workload` register versions of one model and move its aliases, and read it (a writer
   * reads the champion to gate against it): `s3:PutObject` on exactly the keys the registry
   * writes (`versions/*`, `aliases/*` and the version-number `claims/*`) of that model,
   * `kms:GenerateDataKey` and `kms:Decrypt` of the platform key through S3 for this bucket.
   * No delete: versions are immutable.
   */
  public grantWrite(workload: Workload, model: string): void {
    this.grantRead(workload, model);
    const base = this.modelPrefix(model);
    add(workload, {
      Sid: `RegistryWrite${sidPart(model)}`,
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: ['versions', 'aliases', 'claims'].map((d) => `${this.bucketArn}/${base}/${d}/*`),
    });
    this.grantKey(workload, 'Write');
  }

  private grantKey(workload: Workload, access: 'Read' | 'Write'): void {
    // With S3 Bucket Keys (SecureBucket enables them) the encryption context S3 sends to KMS is
    // the bucket ARN, so the key grant is scoped to the bucket; the S3 statements scope the keys.
    add(workload, {
      Sid: `RegistryKey${access}${sidPart(this.bucketName)}`,
      Effect: 'Allow',
      Action: access === 'Read' ? 'kms:Decrypt' : 'kms:GenerateDataKey',
      Resource: this.kmsKeyArn,
      Condition: {
        StringEquals: {
          'kms:ViaService': `s3.${this.platform.region}.amazonaws.com`,
          'kms:EncryptionContext:aws:s3:arn': this.bucketArn,
        },
      },
    });
  }
}

/** Adds a statement unless an identical one is there already. */
function add(workload: Workload, statement: PolicyStatement): void {
  const text = JSON.stringify(statement);
  if (workload.role.policyStatements.some((s) => JSON.stringify(s) === text)) return;
  workload.role.addToPolicy(statement);
}

/** An IAM Sid fragment (letters and digits) for a name, with a hash when characters were dropped. */
function sidPart(name: string): string {
  const alnum = name.replace(/[^A-Za-z0-9]/g, '');
  const cased = alnum.charAt(0).toUpperCase() + alnum.slice(1);
  return alnum === name ? cased : `${cased}${shortHash(name).slice(0, 6)}`;
}

/** A model of a ModelRegistry. */
class RegistryModel implements IModel {
  constructor(public readonly registry: ModelRegistry, public readonly modelName: string) {}

  public version(n: number): IModelVersion {
    const v = new PropValidator(this.registry);
    v.check(Number.isInteger(n) && n >= 1, `model('${this.modelName}').version`, n, 'must be a whole version number >= 1');
    v.throwIfAny();
    return { model: this, ref: n, label: `${this.modelName}@${n}` };
  }

  public alias(name: string): IModelVersion {
    const problem = checkAliasName(name);
    const v = new PropValidator(this.registry);
    if (problem) v.fail(`model('${this.modelName}').alias`, name, problem.replace(/^alias name .* is invalid: /, 'must be an alias name: '));
    v.throwIfAny();
    return { model: this, ref: name, label: `${this.modelName}@${name}` };
  }
}

import type { PolicyStatement } from '../cloud/workload-identity';
import type { PropValidator } from '../errors';
import type { MlPlatform, Workload } from '../platform';

/** Where the training data comes from: one CSV or Parquet object in S3. */
export class TrainingData {
  /**
   * An object of the platform's artefact bucket (`s3://<artefact bucket>/<key>`). The pipeline
   * may read exactly this key, and decrypt it with the platform key through S3.
   */
  public static fromPlatformBucket(key: string): TrainingData {
    return new TrainingData('platform', key, undefined);
  }

  /**
   * Any S3 object (`s3://bucket/key`). The pipeline may read exactly this key; give the KMS key
   * that encrypts it when it is not S3-managed.
   */
  public static fromS3(uri: string, options: { readonly kmsKeyArn?: string } = {}): TrainingData {
    return new TrainingData('s3', uri, options.kmsKeyArn);
  }

  private constructor(
    /** @internal */ public readonly _kind: 'platform' | 's3',
    /** @internal */ public readonly _location: string,
    /** @internal */ public readonly _kmsKeyArn: string | undefined,
  ) {}
}

/** A data object, resolved. */
export interface ResolvedTrainingData {
  readonly uri: string;
  readonly bucketArn: string;
  readonly key: string;
  readonly kmsKeyArn?: string;
}

const S3_URI_RE = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/;
const KEY_RE = /^[^/\s][^\s]*[^/\s]$|^[^/\s]$/;

/** Checks a TrainingData (problems go to `v`, under the prop `data`) and resolves it. */
export function resolveTrainingData(v: PropValidator, platform: MlPlatform, data: TrainingData): ResolvedTrainingData | undefined {
  if (data._kind === 'platform') {
    const key = data._location;
    if (!v.check(typeof key === 'string' && KEY_RE.test(key) && !key.split('/').includes('..'), 'data', key, "must be an object key without leading or trailing '/' or spaces")) return undefined;
    return { uri: `s3://${platform.artifactBucket.bucketName}/${key}`, bucketArn: platform.artifactBucket.bucketArn, key, kmsKeyArn: platform.key.arn };
  }
  const m = S3_URI_RE.exec(data._location);
  const ok = v.check(m !== null && !m[2].endsWith('/'), 'data', data._location, "must be an S3 object URI 's3://bucket/key' (one CSV or Parquet file)");
  if (data._kmsKeyArn !== undefined) {
    v.check(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(data._kmsKeyArn), 'data.kmsKeyArn', data._kmsKeyArn, 'must be a KMS key ARN');
  }
  if (!ok) return undefined;
  return { uri: data._location, bucketArn: `arn:aws:s3:::${m![1]}`, key: m![2], kmsKeyArn: data._kmsKeyArn };
}

/** Lets `workload` read exactly the data object (and decrypt it through S3 when a key is known). */
export function grantTrainingData(workload: Workload, data: ResolvedTrainingData, region: string): void {
  const statements: PolicyStatement[] = [{ Sid: 'ReadTrainingData', Effect: 'Allow', Action: 's3:GetObject', Resource: `${data.bucketArn}/${data.key}` }];
  if (data.kmsKeyArn) {
    statements.push({
      Sid: 'DecryptTrainingData',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: data.kmsKeyArn,
      // With S3 Bucket Keys the encryption context is the bucket ARN, without them the object ARN.
      Condition: {
        StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': [data.bucketArn, `${data.bucketArn}/${data.key}`] },
      },
    });
  }
  statements.forEach((s) => workload.role.addToPolicy(s));
}

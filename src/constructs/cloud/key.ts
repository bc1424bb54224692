import { Construct } from 'constructs';
import { KmsAlias, KmsKey } from './cdktf';

export interface PlatformKeyProps {
  /** Alias name without the `alias/` prefix. */
  readonly alias: string;
  readonly description: string;
  readonly account: string;
  readonly region: string;
  /**
   * Days before a deleted key is destroyed (7 to 30).
   * @default 30
   */
  readonly deletionWindowInDays?: number;
}

/**
 * A customer-managed KMS key with yearly rotation and a key policy that keeps administration
 * in the account and lets CloudWatch Logs of this account and region use it.
 */
export class PlatformKey extends Construct {
  public readonly key: KmsKey;
  /** The key ARN (a token). */
  public readonly arn: string;

  constructor(scope: Construct, id: string, props: PlatformKeyProps) {
    super(scope, id);
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AccountAdministration',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${props.account}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          Sid: 'CloudWatchLogs',
          Effect: 'Allow',
          Principal: { Service: `logs.${props.region}.amazonaws.com` },
          Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          Resource: '*',
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${props.region}:${props.account}:*` } },
        },
      ],
    };
    this.key = new KmsKey(this, 'key', {
      description: props.description,
      enableKeyRotation: true,
      rotationPeriodInDays: 365,
      deletionWindowInDays: props.deletionWindowInDays ?? 30,
      policy: JSON.stringify(policy),
    });
    new KmsAlias(this, 'alias', { name: `alias/${props.alias}`, targetKeyId: this.key.keyId });
    this.arn = this.key.arn;
  }
}

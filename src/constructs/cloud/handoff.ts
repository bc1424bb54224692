import { Construct } from 'constructs';
import { SsmParameter } from './cdktf';
import { compareStrings } from '../../util/compare';

/** One value handed from the cloud plane to the cluster plane. */
export interface HandoffEntry {
  readonly key: string;
  readonly parameterName: string;
  readonly description: string;
  readonly sensitive: boolean;
}

export interface CloudHandoffProps {
  /** Parameter path prefix, e.g. `/cdk-mlops/acme/prod`. */
  readonly prefix: string;
  readonly kmsKeyArn: string;
  readonly account: string;
  readonly region: string;
}

/**
 * The one channel for values that exist only after `terraform apply` (an API endpoint, a
 * cache's address, a generated secret): Terraform writes each to an SSM Parameter Store
 * parameter under the platform's prefix (SecureString, KMS-encrypted with the platform key,
 * when sensitive); in the cluster, External Secrets Operator reads that prefix with its own
 * Pod Identity role and materialises the values as Kubernetes Secrets (see
 * `MlPlatform.handoffSecret`). Everything that can be known at synth time (names, role ARNs,
 * bucket names) is computed deterministically instead and never crosses this channel.
 */
export class CloudHandoff extends Construct {
  public readonly prefix: string;
  /** ARN pattern of every parameter of this platform (for IAM). */
  public readonly parametersArn: string;
  private readonly entries = new Map<string, HandoffEntry>();
  private readonly kmsKeyArn: string;

  constructor(scope: Construct, id: string, props: CloudHandoffProps) {
    super(scope, id);
    this.prefix = props.prefix;
    this.kmsKeyArn = props.kmsKeyArn;
    this.parametersArn = `arn:aws:ssm:${props.region}:${props.account}:parameter${props.prefix}/*`;
  }

  /**
   * Publishes a value under `<prefix>/<key>`. `key` is a DNS-1123-style name
   * (`cluster-endpoint`, `features/redis-endpoint`).
   */
  public publish(key: string, value: string, options: { description: string; sensitive?: boolean }): HandoffEntry {
    if (!/^[a-z0-9]([-a-z0-9/]*[a-z0-9])?$/.test(key)) {
      throw new Error(`handoff key '${key}' must be lower-case letters, digits, '-' and '/'`);
    }
    if (this.entries.has(key)) throw new Error(`handoff key '${key}' is published twice`);
    const sensitive = options.sensitive ?? false;
    const parameterName = `${this.prefix}/${key}`;
    new SsmParameter(this, key.replace(/\//g, '-'), {
      name: parameterName,
      description: options.description,
      type: sensitive ? 'SecureString' : 'String',
      keyId: sensitive ? this.kmsKeyArn : undefined,
      value,
      tier: 'Standard',
    });
    const entry = { key, parameterName, description: options.description, sensitive };
    this.entries.set(key, entry);
    return entry;
  }

  /** Entries published so far, sorted by key. */
  public get published(): HandoffEntry[] {
    return [...this.entries.values()].sort((a, b) => compareStrings(a.key, b.key));
  }

  /** Looks an entry up; throws naming the known keys when absent. */
  public entry(key: string): HandoffEntry {
    const e = this.entries.get(key);
    if (!e) throw new Error(`handoff key '${key}' was never published; known: ${[...this.entries.keys()].sort().join(', ')}`);
    return e;
  }
}

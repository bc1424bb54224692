import { Construct } from 'constructs';
import { EksPodIdentityAssociation, IamRole, IamRolePolicy } from './cdktf';

/** One IAM policy statement. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface WorkloadRoleProps {
  /** IAM role name (deterministic). */
  readonly roleName: string;
  readonly account: string;
  readonly clusterName: string;
  readonly clusterArn: string;
  readonly namespace: string;
  readonly serviceAccountName: string;
}

/**
 * The cloud half of a workload's identity: an IAM role that only EKS Pod Identity can assume,
 * only for this cluster and account, bound to one ServiceAccount in one namespace, with an
 * inline least-privilege policy that grows as capabilities grant it access
 * (`registry.grantRead(workload)`). No policy is attached until something is granted.
 */
export class WorkloadRole extends Construct {
  public readonly role: IamRole;
  public readonly roleName: string;
  /** Deterministic role ARN. */
  public readonly roleArn: string;
  private readonly statements: PolicyStatement[] = [];
  private policy?: IamRolePolicy;

  constructor(scope: Construct, id: string, props: WorkloadRoleProps) {
    super(scope, id);
    this.roleName = props.roleName;
    this.roleArn = `arn:aws:iam::${props.account}:role/${props.roleName}`;
    this.role = new IamRole(this, 'role', {
      name: props.roleName,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: {
            StringEquals: { 'aws:SourceAccount': props.account },
            ArnEquals: { 'aws:SourceArn': props.clusterArn },
          },
        }],
      }),
    });
    new EksPodIdentityAssociation(this, 'pod-identity', {
      clusterName: props.clusterName,
      namespace: props.namespace,
      serviceAccount: props.serviceAccountName,
      roleArn: this.role.arn,
    });
  }

  /** Adds a statement to the role's inline policy. */
  public addToPolicy(statement: PolicyStatement): void {
    this.statements.push(statement);
    // Rendered eagerly on every grant (statements are few): a lazy token would cost a captured
    // stack trace per role at synth.
    const document = JSON.stringify({ Version: '2012-10-17', Statement: this.statements });
    if (!this.policy) {
      this.policy = new IamRolePolicy(this, 'policy', { name: 'least-privilege', role: this.role.name, policy: document });
    } else {
      this.policy.policy = document;
    }
  }

  /** The statements granted so far. */
  public get policyStatements(): readonly PolicyStatement[] {
    return this.statements;
  }
}

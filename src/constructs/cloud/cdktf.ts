/**
 * The seam: every import of `cdktf` and `@cdktf/provider-aws` in cdk-mlops goes through this
 * module, so that moving to the maintained fork (cdktn) changes this file alone.
 *
 * AWS provider classes are imported by submodule (the package root costs seconds and hundreds
 * of megabytes per process). Add a line here when a construct needs another resource type.
 */

// cdktf core
export {
  Aspects,
  Fn,
  Lazy,
  LocalBackend,
  S3Backend,
  TerraformElement,
  TerraformOutput,
  TerraformResource,
  TerraformStack,
  Testing,
  Token,
} from 'cdktf';
export type { IAspect, ITerraformDependable, S3BackendConfig } from 'cdktf';
export { invokeAspects } from 'cdktf/lib/synthesize/synthesizer';

// AWS provider: provider and data sources
export { AwsProvider } from '@cdktf/provider-aws/lib/provider';
export { DataAwsAvailabilityZones } from '@cdktf/provider-aws/lib/data-aws-availability-zones';
export { DataAwsEksCluster } from '@cdktf/provider-aws/lib/data-aws-eks-cluster';

// network
export { Vpc } from '@cdktf/provider-aws/lib/vpc';
export { Subnet } from '@cdktf/provider-aws/lib/subnet';
export { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
export { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
export { Eip } from '@cdktf/provider-aws/lib/eip';
export { RouteTable } from '@cdktf/provider-aws/lib/route-table';
export { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
export { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
export { FlowLog } from '@cdktf/provider-aws/lib/flow-log';
export { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
export { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';

// keys, logs, parameters
export { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
export { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
export { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
export { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';

// identity
export { IamRole } from '@cdktf/provider-aws/lib/iam-role';
export { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
export { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';

// EKS
export { EksCluster } from '@cdktf/provider-aws/lib/eks-cluster';
export { EksNodeGroup } from '@cdktf/provider-aws/lib/eks-node-group';
export { EksAddon } from '@cdktf/provider-aws/lib/eks-addon';
export { EksPodIdentityAssociation } from '@cdktf/provider-aws/lib/eks-pod-identity-association';
export { EksAccessEntry } from '@cdktf/provider-aws/lib/eks-access-entry';
export { EksAccessPolicyAssociation } from '@cdktf/provider-aws/lib/eks-access-policy-association';
export { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';

// S3
export { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
export { S3BucketVersioningA as S3BucketVersioning } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
export { S3BucketServerSideEncryptionConfigurationA as S3BucketServerSideEncryptionConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
export { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
export { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
export { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
export { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';

// GPU training pools
export { PlacementGroup } from '@cdktf/provider-aws/lib/placement-group';

// drift monitoring: alert topics
export { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
export { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';

// feature store: online store (ElastiCache for Redis or DynamoDB), its auth token, offline catalog
export { ElasticacheReplicationGroup } from '@cdktf/provider-aws/lib/elasticache-replication-group';
export { ElasticacheSubnetGroup } from '@cdktf/provider-aws/lib/elasticache-subnet-group';
export { ElasticacheParameterGroup } from '@cdktf/provider-aws/lib/elasticache-parameter-group';
export { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
export { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version';
export { DataAwsSecretsmanagerRandomPassword } from '@cdktf/provider-aws/lib/data-aws-secretsmanager-random-password';
export { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
export { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
export { GlueCatalogDatabase } from '@cdktf/provider-aws/lib/glue-catalog-database';
export { GlueCatalogTable } from '@cdktf/provider-aws/lib/glue-catalog-table';
export { AthenaWorkgroup } from '@cdktf/provider-aws/lib/athena-workgroup';

// GPU training pools with Karpenter: the interruption queue and the EventBridge rules feeding it
export { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
export { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
export { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
export { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';

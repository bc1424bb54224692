import { Construct } from 'constructs';
import type { OnlineStoreConfig } from '../../runtime/config/features';
import {
  DataAwsSecretsmanagerRandomPassword, DynamodbTable, ElasticacheParameterGroup, ElasticacheReplicationGroup,
  ElasticacheSubnetGroup, SecretsmanagerSecret, SecretsmanagerSecretVersion, SecurityGroup, VpcSecurityGroupIngressRule,
} from '../cloud/cdktf';
import { parseCidr } from '../cloud/cidr';
import type { HandoffEntry } from '../cloud/handoff';
import { Duration, k8s } from '../cluster/k8s';
import { PropValidator } from '../errors';
import type { MlPlatform, Workload } from '../platform';
import { deployFeatureNodes, FEATURE_NODES_TAINT_KEY, FeatureNodes, FeatureNodesOptions, validateFeatureNodes } from './client-nodes';

/** Redis engine versions the online store accepts, with their parameter group family. */
export const REDIS_ENGINE_VERSIONS: Readonly<Record<string, string>> = { '7.1': 'redis7', '7.0': 'redis7', '6.2': 'redis6.x' };

/** `maxmemory-policy` values of Redis. */
export const REDIS_MAXMEMORY_POLICIES = [
  'noeviction', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl',
] as const;
/** A `maxmemory-policy` value. */
export type RedisMaxmemoryPolicy = (typeof REDIS_MAXMEMORY_POLICIES)[number];

/** Environment variable of the feature workloads that holds the Redis auth token. */
export const REDIS_AUTH_TOKEN_ENV = 'REDIS_AUTH_TOKEN';
/** Environment variable that overrides the registry's `onlineStore.url` (the runtime's override syntax). */
export const REDIS_URL_ENV = 'CDK_MLOPS_FEATURES_ONLINE_STORE__URL';

/** Options of the ElastiCache for Redis online store. */
export interface RedisOnlineStoreOptions {
  /**
   * Node type of every node.
   * @default 'cache.t4g.medium'
   * @see https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html
   */
  readonly nodeType?: string;
  /**
   * Nodes of the replication group (one primary, the rest replicas), 2 to 6, spread over the
   * private subnets' zones. At least 2: automatic failover needs a replica in another zone.
   * @default 2
   */
  readonly nodeCount?: number;
  /**
   * Redis engine version: '7.1', '7.0' or '6.2'.
   * @default '7.1'
   */
  readonly engineVersion?: string;
  /**
   * TCP port.
   * @default 6379
   */
  readonly port?: number;
  /**
   * What Redis does when memory is full. The default refuses writes, so a full store fails
   * materialization loudly instead of silently evicting features that lookups then miss.
   * @default 'noeviction'
   */
  readonly maxmemoryPolicy?: RedisMaxmemoryPolicy;
  /**
   * Days of automatic snapshots kept (0 turns them off).
   * @default 7
   */
  readonly snapshotRetentionDays?: number;
  /**
   * Weekly maintenance window (`sun:03:00-sun:04:00`, UTC).
   * @default - chosen by ElastiCache
   */
  readonly maintenanceWindow?: string;
  /**
   * Prefix of every key the feature runtime writes.
   * @default 'cdk-mlops:features:'
   */
  readonly keyPrefix?: string;
  /**
   * The nodes of the feature workloads (the feature server and the materializers): a managed
   * node group of their own, tainted and labelled for them, whose nodes carry the store's client
   * security group beside the EKS cluster security group. The cache's security group admits the
   * client group only, and two ValidatingAdmissionPolicies keep every other pod off those nodes
   * (no toleration of their taint, no `spec.nodeName` naming one of them), so only the feature
   * workloads reach Redis at the network level. See {@link FeatureNodesOptions}.
   * @default - two m7i.large nodes (up to 4), on-demand
   */
  readonly clientNodes?: FeatureNodesOptions;
  /**
   * Admit these security groups on the Redis port instead: no node group is created for the
   * feature workloads and they run on any node. For platforms that isolate the workloads
   * themselves (security groups for pods with a `SecurityGroupPolicy`, a node group of their
   * own); naming the EKS cluster security group admits every node of the cluster.
   * @default - the client security group of `clientNodes`
   */
  readonly clientSecurityGroupIds?: string[];
  /**
   * CIDR blocks holding the cache nodes, for the feature pods' egress NetworkPolicy (port
   * `port` only). Required when the platform uses an existing network (its CIDR is not known
   * at synth time).
   * @default - the CIDR of the VPC the platform creates
   */
  readonly cacheCidrs?: string[];
  /**
   * Expire each entity's row this long after the write that last changed it (Redis `SET ... PX`),
   * so that entities gone from the offline data stop occupying memory. An expired row reads
   * NOT_FOUND (kept, it would read OUTSIDE_MAX_AGE once older than its view's TTL). Whole
   * seconds, at least every online view's TTL (checked at synthesis).
   * @default - rows never expire
   */
  readonly keyTtl?: Duration;
}

/** Options of the DynamoDB online store. */
export interface DynamoDbOnlineStoreOptions {
  /**
   * Point-in-time recovery (continuous backups, 35 days).
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * Refuse to delete the table (`terraform destroy` fails until turned off).
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Expire each entity's item this long after the write that last changed it: items carry the
   * TTL attribute `exp` (epoch seconds) and the table's TTL is turned on, so DynamoDB deletes
   * them (lazily; readers treat an expired item as absent at once). An expired row reads
   * NOT_FOUND. Whole seconds, at least every online view's TTL (checked at synthesis).
   * @default - items never expire (TTL off)
   */
  readonly keyTtl?: Duration;
}

/** Where online features live. */
export class OnlineStore {
  /**
   * ElastiCache for Redis: a replication group across zones (primary + replicas, automatic
   * failover, Multi-AZ), encrypted at rest with the platform key and in transit (TLS required),
   * AUTH token generated by Secrets Manager and kept there (KMS), in the private subnets behind
   * a security group that admits only the nodes of the feature workloads on the Redis port
   * (`clientNodes`). The default.
   */
  public static redis(options: RedisOnlineStoreOptions = {}): OnlineStore {
    return new OnlineStore('redis', options, {});
  }

  /**
   * A DynamoDB table: on-demand capacity, encrypted with the platform key, point-in-time
   * recovery, deletion protection; partition key `k` (string), the entity's row in `v`, one
   * item per (view, entity key) (the runtime's `DynamoDbOnlineStore`). The workloads reach it
   * over HTTPS with their own IAM roles (no secret to hand over): the feature server may only
   * read it (`BatchGetItem`, `GetItem`), the materializer read and write it; through a DynamoDB
   * gateway endpoint on the private route tables when the platform creates its network.
   * Materialization into DynamoDB is not atomic per chunk (see the runtime's
   * `DynamoDbOnlineStore`): every item is a complete latest row, and the watermarks move only
   * after every item was written.
   */
  public static dynamodb(options: DynamoDbOnlineStoreOptions = {}): OnlineStore {
    return new OnlineStore('dynamodb', {}, options);
  }

  private constructor(
    /** @internal */ public readonly _kind: 'redis' | 'dynamodb',
    /** @internal */ public readonly _redis: RedisOnlineStoreOptions,
    /** @internal */ public readonly _dynamodb: DynamoDbOnlineStoreOptions,
  ) {}

  /** `'redis'` or `'dynamodb'`. */
  public get kind(): 'redis' | 'dynamodb' {
    return this._kind;
  }
}

/** @internal Validates the online store options. */
export function validateOnlineStore(v: PropValidator, store: OnlineStore, platform: MlPlatform): void {
  if (!(store instanceof OnlineStore)) {
    v.fail('onlineStore', store, 'must be OnlineStore.redis(...) or OnlineStore.dynamodb(...)');
    return;
  }
  const keyTtl = store._kind === 'redis' ? store._redis.keyTtl : store._dynamodb.keyTtl;
  if (keyTtl !== undefined) {
    if (!(keyTtl instanceof Duration)) {
      v.fail('onlineStore.keyTtl', keyTtl, 'must be a Duration (Duration.days(7))');
    } else {
      const seconds = keyTtl.toSeconds({ integral: false });
      v.check(Number.isInteger(seconds) && seconds >= 1, 'onlineStore.keyTtl', `${seconds} s`, 'must be a whole number of seconds, at least 1');
    }
  }
  if (store._kind === 'dynamodb') {
    const o = store._dynamodb;
    v.check(o.pointInTimeRecovery === undefined || typeof o.pointInTimeRecovery === 'boolean', 'onlineStore.pointInTimeRecovery', o.pointInTimeRecovery, 'must be true or false');
    v.check(o.deletionProtection === undefined || typeof o.deletionProtection === 'boolean', 'onlineStore.deletionProtection', o.deletionProtection, 'must be true or false');
    return;
  }
  const o = store._redis;
  const nodeType = o.nodeType ?? 'cache.t4g.medium';
  v.check(/^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(nodeType), 'onlineStore.nodeType', nodeType, "must be an ElastiCache node type like 'cache.r7g.large'");
  v.check(!/^cache\.t[12]\./.test(nodeType), 'onlineStore.nodeType', nodeType, 'must support automatic failover and encryption (not a T1/T2 node type)');
  const nodes = o.nodeCount ?? 2;
  v.check(Number.isInteger(nodes) && nodes >= 2 && nodes <= 6, 'onlineStore.nodeCount', nodes,
    'must be a whole number from 2 to 6 (a primary and at least one replica in another zone, for automatic failover)');
  const version = o.engineVersion ?? '7.1';
  v.check(version in REDIS_ENGINE_VERSIONS, 'onlineStore.engineVersion', version, `must be one of ${Object.keys(REDIS_ENGINE_VERSIONS).map((x) => `'${x}'`).join(', ')}`);
  const port = o.port ?? 6379;
  v.check(Number.isInteger(port) && port >= 1024 && port <= 65535, 'onlineStore.port', port, 'must be a TCP port from 1024 to 65535');
  const policy = o.maxmemoryPolicy ?? 'noeviction';
  v.check((REDIS_MAXMEMORY_POLICIES as readonly string[]).includes(policy), 'onlineStore.maxmemoryPolicy', policy, `must be one of ${REDIS_MAXMEMORY_POLICIES.join(', ')}`);
  const days = o.snapshotRetentionDays ?? 7;
  v.check(Number.isInteger(days) && days >= 0 && days <= 35, 'onlineStore.snapshotRetentionDays', days, 'must be a whole number of days from 0 to 35');
  if (o.maintenanceWindow !== undefined) {
    v.check(/^(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d-(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d$/.test(o.maintenanceWindow), 'onlineStore.maintenanceWindow',
      o.maintenanceWindow, "must be a weekly window like 'sun:03:00-sun:04:00'");
  }
  if (o.keyPrefix !== undefined) v.check(o.keyPrefix.length >= 1 && o.keyPrefix.length <= 100, 'onlineStore.keyPrefix', o.keyPrefix, 'must be 1 to 100 characters');
  (o.clientSecurityGroupIds ?? []).forEach((g, i) => v.check(/^sg-[0-9a-f]{8,17}$/.test(g), `onlineStore.clientSecurityGroupIds[${i}]`, g, "must be a security group id like 'sg-0123456789abcdef0'"));
  if (o.clientSecurityGroupIds !== undefined) {
    v.check(o.clientSecurityGroupIds.length > 0, 'onlineStore.clientSecurityGroupIds', o.clientSecurityGroupIds,
      'must list at least one security group (leave it out for the nodes of the feature workloads, `clientNodes`)');
    v.check(o.clientNodes === undefined, 'onlineStore.clientNodes', o.clientNodes,
      'must be left out with clientSecurityGroupIds: the cache admits either the nodes of the feature workloads or the groups you name, not both');
  } else {
    validateFeatureNodes(v, o.clientNodes ?? {});
  }
  const cidrs = o.cacheCidrs ?? (platform.network.cidr ? [platform.network.cidr] : []);
  v.check(cidrs.length > 0, 'onlineStore.cacheCidrs', o.cacheCidrs,
    "must list the CIDR blocks of the cache's subnets: the platform uses an existing network, whose CIDR is not known at synth time");
  cidrs.forEach((c, i) => {
    const p = parseCidr(c);
    if (typeof p === 'string') v.fail(`onlineStore.cacheCidrs[${i}]`, c, p);
    else v.check(p.prefix >= 8, `onlineStore.cacheCidrs[${i}]`, c, 'must be a private network block (/8 or longer), not the whole internet');
  });
}

/** @internal What the rest of the store needs from the online store it deployed. */
export interface DeployedOnlineStore {
  /** The registry's `onlineStore` (for Redis without `url`: it comes from the environment). */
  readonly config: OnlineStoreConfig;
  /** Environment of the feature workloads: name -> Secret key. */
  readonly secretEnv: Record<string, { secret: string; key: string }>;
  /** Egress rules the feature workloads need to reach the store. */
  readonly egress: k8s.NetworkPolicyEgressRule[];
  /** Whether reaching the store needs AWS API egress (HTTPS). */
  readonly needsAwsApi: boolean;
  /** The nodes the feature workloads must run on (the ones the store admits), if any. */
  readonly nodes?: FeatureNodes;
  /** platform.json description. */
  readonly inventory: Record<string, unknown>;
  /** Grants the feature server read access. */
  grantRead(workload: Workload): void;
  /** Grants the materializer read and write access. */
  grantReadWrite(workload: Workload): void;
}

/** Names shared by the store's parts. */
export interface OnlineStoreNames {
  /** The store's name (DNS label). */
  readonly storeName: string;
  /** Namespace of the feature workloads. */
  readonly namespace: string;
  /** Sid fragment of this store. */
  readonly sid: string;
}

/** @internal Creates the ElastiCache for Redis online store in `scope`. */
export function deployRedis(scope: Construct, platform: MlPlatform, store: OnlineStore, names: OnlineStoreNames): DeployedOnlineStore & {
  replicationGroup: ElasticacheReplicationGroup; securityGroup: SecurityGroup; secret: SecretsmanagerSecret; urlEntry: HandoffEntry; tokenEntry: HandoffEntry;
} {
  const o = store._redis;
  const port = o.port ?? 6379;
  const engineVersion = o.engineVersion ?? '7.1';
  const groupId = platform.resourceName(40, 'features', names.storeName);
  const keyArn = platform.key.arn;

  const subnets = new ElasticacheSubnetGroup(scope, 'redis-subnets', {
    name: groupId,
    description: `cdk-mlops feature store ${names.storeName}: private subnets of the online store`,
    subnetIds: platform.network.privateSubnetIds,
  });
  const parameters = new ElasticacheParameterGroup(scope, 'redis-parameters', {
    name: groupId,
    family: REDIS_ENGINE_VERSIONS[engineVersion],
    description: `cdk-mlops feature store ${names.storeName}`,
    parameter: [{ name: 'maxmemory-policy', value: o.maxmemoryPolicy ?? 'noeviction' }],
  });
  const securityGroup = new SecurityGroup(scope, 'redis-security-group', {
    name: `${groupId}-redis`,
    description: `cdk-mlops feature store ${names.storeName}: Redis clients of the feature workloads only`,
    vpcId: platform.network.vpcId,
    // No egress: the cache initiates no connections.
    egress: [],
    tags: { Name: `${groupId}-redis` },
  });
  const nodes = o.clientSecurityGroupIds ? undefined : deployFeatureNodes(scope, platform, names.storeName, o.clientNodes ?? {});
  const clients = o.clientSecurityGroupIds ?? [nodes!.securityGroup.id];
  clients.forEach((peer, i) => new VpcSecurityGroupIngressRule(scope, `redis-ingress-${i}`, {
    securityGroupId: securityGroup.id,
    referencedSecurityGroupId: peer,
    ipProtocol: 'tcp',
    fromPort: port,
    toPort: port,
    description: nodes ? `Redis from the nodes of the feature workloads (${nodes.poolName})` : 'Redis from an allowed client security group',
  }));

  // The AUTH token: generated by Secrets Manager's GetRandomPassword at plan time (never in
  // this program nor in cdk.tf.json), stored as the secret's version once; `ignore_changes`
  // keeps the first value (the data source yields a new one on every plan). Terraform marks
  // it sensitive in plans; like any Terraform-managed credential it is in the state.
  const secretName = `cdk-mlops/${platform.platformName}/${platform.environment}/features/${names.storeName}/redis-auth-token`;
  const secret = new SecretsmanagerSecret(scope, 'redis-auth-secret', {
    name: secretName,
    description: `AUTH token of the cdk-mlops feature store ${names.storeName} (ElastiCache replication group ${groupId})`,
    kmsKeyId: keyArn,
    recoveryWindowInDays: 30,
  });
  const generated = new DataAwsSecretsmanagerRandomPassword(scope, 'redis-auth-token-generator', {
    passwordLength: 64,
    // ElastiCache accepts only some punctuation in tokens: letters and digits only.
    excludePunctuation: true,
    includeSpace: false,
    requireEachIncludedType: true,
  });
  const version = new SecretsmanagerSecretVersion(scope, 'redis-auth-secret-version', {
    secretId: secret.id,
    secretString: generated.randomPassword,
    lifecycle: { ignoreChanges: ['secret_string'] },
  });
  const replicationGroup = new ElasticacheReplicationGroup(scope, 'redis', {
    replicationGroupId: groupId,
    description: `cdk-mlops feature store ${names.storeName} (online store)`,
    engine: 'redis',
    engineVersion,
    nodeType: o.nodeType ?? 'cache.t4g.medium',
    numCacheClusters: o.nodeCount ?? 2,
    port,
    parameterGroupName: parameters.name,
    subnetGroupName: subnets.name,
    securityGroupIds: [securityGroup.id],
    automaticFailoverEnabled: true,
    multiAzEnabled: true,
    atRestEncryptionEnabled: 'true',
    kmsKeyId: keyArn,
    transitEncryptionEnabled: true,
    transitEncryptionMode: 'required',
    authToken: version.secretString,
    authTokenUpdateStrategy: 'ROTATE',
    autoMinorVersionUpgrade: 'true',
    snapshotRetentionLimit: o.snapshotRetentionDays ?? 7,
    finalSnapshotIdentifier: (o.snapshotRetentionDays ?? 7) > 0 ? `${groupId}-final` : undefined,
    maintenanceWindow: o.maintenanceWindow,
    applyImmediately: false,
  });

  const urlEntry = platform.handoff.publish(`features/${names.storeName}/redis-url`, `rediss://${replicationGroup.primaryEndpointAddress}:${port}`, {
    description: `Redis URL (TLS) of the feature store ${names.storeName}`,
  });
  const tokenEntry = platform.handoff.publish(`features/${names.storeName}/redis-auth-token`, version.secretString, {
    description: `Redis AUTH token of the feature store ${names.storeName} (copy of the Secrets Manager secret for the cluster)`,
    sensitive: true,
  });
  const kubeSecret = `${names.storeName}-online-store`;
  platform.handoffSecret('features', names.namespace, kubeSecret, [urlEntry.key, tokenEntry.key]);
  const keyOf = (e: HandoffEntry) => e.key.replace(/\//g, '-');
  const cidrs = o.cacheCidrs ?? [platform.network.cidr!];
  return {
    replicationGroup,
    securityGroup,
    secret,
    urlEntry,
    tokenEntry,
    config: {
      type: 'redis',
      url: 'redis://127.0.0.1:6379', // replaced below: the URL comes from the environment
      keyPrefix: o.keyPrefix ?? 'cdk-mlops:features:',
      tls: true,
      passwordEnv: REDIS_AUTH_TOKEN_ENV,
      connectTimeoutMs: 5000,
      commandTimeoutMs: 2000,
      keyTtlSeconds: o.keyTtl?.toSeconds(),
    },
    secretEnv: {
      [REDIS_URL_ENV]: { secret: kubeSecret, key: keyOf(urlEntry) },
      [REDIS_AUTH_TOKEN_ENV]: { secret: kubeSecret, key: keyOf(tokenEntry) },
    },
    egress: [{
      to: cidrs.map((cidr) => ({ ipBlock: { cidr } })),
      ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }],
    }],
    needsAwsApi: false,
    nodes,
    // Redis has no IAM data plane here: access is the network path plus the AUTH token.
    grantRead: () => undefined,
    grantReadWrite: () => undefined,
    inventory: {
      type: 'redis',
      replicationGroupId: groupId,
      engineVersion,
      nodeType: o.nodeType ?? 'cache.t4g.medium',
      nodes: o.nodeCount ?? 2,
      port,
      tls: true,
      keyTtlSeconds: o.keyTtl?.toSeconds(),
      authTokenSecret: secretName,
      handoff: { url: urlEntry.parameterName, authToken: tokenEntry.parameterName },
      kubernetesSecret: `${names.namespace}/${kubeSecret}`,
      clients: nodes
        ? { nodeGroup: nodes.poolName, taint: `${FEATURE_NODES_TAINT_KEY}=${nodes.poolName}:NoSchedule`, securityGroup: nodes.securityGroupName }
        : { securityGroupIds: [...clients] },
    },
  };
}

/** Attribute names of the online table (the runtime's `DynamoDbOnlineStore` uses the same). */
const DYNAMODB_KEY = 'k';
const DYNAMODB_TTL = 'exp';

/** @internal Creates the DynamoDB online store in `scope`. */
export function deployDynamoDb(scope: Construct, platform: MlPlatform, store: OnlineStore, names: OnlineStoreNames): DeployedOnlineStore & { table: DynamodbTable } {
  const o = store._dynamodb;
  const tableName = platform.resourceName(255, 'features', names.storeName);
  const keyTtlSeconds = o.keyTtl?.toSeconds();
  const table = new DynamodbTable(scope, 'dynamodb', {
    name: tableName,
    billingMode: 'PAY_PER_REQUEST',
    hashKey: DYNAMODB_KEY,
    attribute: [{ name: DYNAMODB_KEY, type: 'S' }],
    serverSideEncryption: { enabled: true, kmsKeyArn: platform.key.arn },
    pointInTimeRecovery: { enabled: o.pointInTimeRecovery ?? true },
    deletionProtectionEnabled: o.deletionProtection ?? true,
    ttl: keyTtlSeconds === undefined ? undefined : { attributeName: DYNAMODB_TTL, enabled: true },
  });
  // DynamoDB traffic off the NAT: a gateway endpoint on the private route tables (once per platform).
  const endpoint = platform.network.gatewayEndpoint('dynamodb');
  const tableArn = `arn:aws:dynamodb:${platform.region}:${platform.account}:table/${tableName}`;
  const viaDynamo = { StringEquals: { 'kms:ViaService': `dynamodb.${platform.region}.amazonaws.com` } };
  const grant = (workload: Workload, write: boolean) => {
    const sid = `Features${names.sid}Online${write ? 'Write' : 'Read'}`;
    if (workload.role.policyStatements.some((s) => s.Sid === sid)) return;
    workload.role.addToPolicy({
      Sid: sid,
      Effect: 'Allow',
      // Exactly what DynamoDbOnlineStore calls: lookups and watermarks read; materialization writes.
      Action: write
        ? ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem']
        : ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
      Resource: tableArn,
    });
    workload.role.addToPolicy({
      Sid: `${sid}Key`,
      Effect: 'Allow',
      Action: write ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] : 'kms:Decrypt',
      Resource: platform.key.arn,
      Condition: viaDynamo,
    });
  };
  return {
    table,
    config: {
      type: 'dynamodb',
      table: tableName,
      region: platform.region,
      keyPrefix: 'cdk-mlops:features:',
      requestTimeoutMs: 2000,
      keyTtlSeconds,
    },
    secretEnv: {},
    egress: [],
    needsAwsApi: true,
    grantRead: (w) => grant(w, false),
    grantReadWrite: (w) => grant(w, true),
    inventory: {
      type: 'dynamodb',
      table: tableName,
      tableArn,
      pointInTimeRecovery: o.pointInTimeRecovery ?? true,
      deletionProtection: o.deletionProtection ?? true,
      keyTtlSeconds,
      gatewayEndpoint: endpoint !== undefined,
    },
  };
}

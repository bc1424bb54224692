import { fraudStore, problems } from './feature-store.fixtures';
import {
  Cluster, Duration, Entity, FeatureReference, FeatureService, FeatureSource, FeatureStore, FeatureStoreProps, FeatureView, FeatureViewProps,
  MlopsValidationError, Network, OfflineStore, OnlineStore,
} from '../../src';
import { newPlatform, synth, validationMessage } from '../support/platform';

/** A store with one entity `customer` (int64 key) to define views against. */
function base(props: FeatureStoreProps = {}) {
  const { platform } = newPlatform();
  const store = new FeatureStore(platform, 'features', props);
  const customer = store.addEntity('customer', { joinKey: 'customer_id', joinKeyType: 'int64' });
  return { platform, store, customer };
}

/** View props with `over` applied. */
function view(customer: Entity, over: Partial<FeatureViewProps> = {}): FeatureViewProps {
  return { entities: [customer], schema: [{ name: 'amount', type: 'float64' }], source: FeatureSource.parquet('tx'), ...over };
}

describe('FeatureView fails at construction, naming the view, the prop, the value and what was expected', () => {
  test.each<[string, (c: Entity) => Partial<FeatureViewProps>, string]>([
    ['TTL of zero', () => ({ ttl: Duration.seconds(0) }),
      "'ttl' (0) feature view 'tx': ttlSeconds (0) must be a whole number of seconds greater than 0 (leave it out for values that never expire)"],
    ['TTL not a whole number of seconds', () => ({ ttl: Duration.millis(1500) }),
      "'ttl' (1.5) feature view 'tx': ttlSeconds (1.5) must be a whole number of seconds greater than 0 (leave it out for values that never expire)"],
    ['TTL not a Duration', () => ({ ttl: 3600 as never }), "'ttl' (3600) must be a Duration (Duration.hours(2))"],
    ['duplicate feature names', () => ({ schema: [{ name: 'amount', type: 'float64' }, { name: 'amount', type: 'int64' }] }),
      "'schema[1].name' (\"amount\") feature view 'tx' declares feature 'amount' twice"],
    ['a feature named like the join key', () => ({ schema: [{ name: 'customer_id', type: 'int64' }] }),
      "'schema[0].name' (\"customer_id\") feature view 'tx': feature 'customer_id' has the name of a join key"],
    ['a feature named like the timestamp column', () => ({ schema: [{ name: 'event_timestamp', type: 'unix_timestamp' }] }),
      "'schema[0].name' (\"event_timestamp\") feature view 'tx': feature 'event_timestamp' has the name of a timestamp column"],
    ['created timestamp equal to the event timestamp', () => ({ createdTimestampField: 'event_timestamp' }),
      "'createdTimestampField' (\"event_timestamp\") feature view 'tx': createdTimestampField must differ from timestampField ('event_timestamp')"],
    ['a bad feature name', () => ({ schema: [{ name: '7d-amount', type: 'float64' }] }),
      "'schema[0].name' (\"7d-amount\") feature name must start with a letter and hold only letters, digits and '_' (at most 128 characters)"],
    ['a bad feature type', () => ({ schema: [{ name: 'amount', type: 'decimal' as never }] }), "'schema[0].type' (\"decimal\") Invalid option: expected one of"],
    ['a bad view name', (c) => ({ viewName: 'tx-v2', entities: [c] }),
      "'viewName' (\"tx-v2\") feature view name must start with a letter and hold only letters, digits and '_' (at most 128 characters)"],
    ['a bad timestamp field', () => ({ timestampField: 'event time' }),
      "'timestampField' (\"event time\") timestamp field must start with a letter"],
    ['no entity', () => ({ entities: [] }), "'entities' (0) must list at least one Entity of this store"],
    ['the same entity twice', (c) => ({ entities: [c, c] }), "'entities[1]' (\"customer\") feature view 'tx' names entity 'customer' twice"],
    ['no feature', () => ({ schema: [] }), "'schema' ([]) Too small: expected array to have >=1 items"],
    ['a schedule on an offline-only view', () => ({ online: false, schedule: '@hourly' }),
      "'schedule' (\"@hourly\") must be unset on a view with 'online: false' (materialization loads only online views)"],
    ['a bad schedule', () => ({ schedule: 'every hour' }), "'schedule' (\"every hour\") must be a cron expression of 5 fields ('*/15 * * * *') or @hourly, @daily, ..."],
    ['a bad time zone', () => ({ schedule: '@daily', timeZone: 'Paris time' }), "'timeZone' (\"Paris time\") must be an IANA time zone like 'Europe/Paris'"],
    ['a materialization timeout under a minute', () => ({ materializationTimeout: Duration.seconds(30) }),
      "'materializationTimeout' (30) must be a whole number of seconds >= 60"],
    ['a source path escaping the offline store', () => ({ source: FeatureSource.parquet('../other/tx') }), "'source.path' (\"../other/tx\") must be a folder"],
    ['an absolute local source path', () => ({ source: FeatureSource.parquet('/data/tx') }), "'source.path' (\"/data/tx\") must be a folder"],
    ['a single Parquet file as source', () => ({ source: FeatureSource.parquet('s3://bucket/tx/part-0.parquet') }), 'not a single .parquet file'],
    ['a malformed S3 source', () => ({ source: FeatureSource.parquet('s3://B/tx') }), "'source.path' (\"s3://B/tx\") must be a folder"],
    ['a Glue source without an S3 location', () => ({ source: FeatureSource.glueTable({ database: 'lake', table: 'tx', location: 'lake/tx' }) }),
      "'source.location' (\"lake/tx\") must be the S3 prefix of the table's files ('s3://bucket/prefix/')"],
    ['a bad Glue table name', () => ({ source: FeatureSource.glueTable({ database: 'lake', table: 'card-history', location: 's3://lake/tx/' }) }),
      "'source.table' (\"card-history\") Glue table must start with a letter"],
    ['a bad KMS key ARN', () => ({ source: FeatureSource.parquet('s3://bucket/tx/', { kmsKeyArn: 'alias/data' }) }), "'source.kmsKeyArn' (\"alias/data\") must be a KMS key ARN"],
  ])('fails if %s', (_name, over, expected) => {
    const { store, customer } = base();
    const r = problems(() => new FeatureView(store, 'tx', view(customer, over(customer))));
    expect(r.path).toBe('dev/features/tx');
    expect(r.lines.join('\n')).toContain(expected);
  });

  test('fails if an entity belongs to another store (an unknown entity)', () => {
    const { platform, store } = base();
    const other = new FeatureStore(platform, 'other');
    const stranger = other.addEntity('driver', { joinKeyType: 'string' });
    const r = problems(() => store.addFeatureView('tx', view(stranger)));
    expect(r.lines).toEqual(["'entities[0]' (\"driver\") must be an entity of this feature store ('dev/features'), not of 'dev/other'"]);
  });

  test('fails if a view name repeats, or differs from another only in letter case (one Glue table)', () => {
    const { store, customer } = base();
    store.addFeatureView('tx', view(customer));
    expect(problems(() => store.addFeatureView('tx2', view(customer, { viewName: 'tx' }))).lines).toEqual(["'viewName' (\"tx\") duplicate feature view name 'tx'"]);
    expect(problems(() => store.addFeatureView('TX', view(customer))).lines)
      .toEqual(["'viewName' (\"TX\") must differ from 'tx' in more than letter case (both would be Glue table 'tx')"]);
  });

  test("fails if the view's construct id is taken by the store's own resources", () => {
    const { store, customer } = base();
    expect(problems(() => store.addFeatureView('server', view(customer, { viewName: 'server_stats' }))).lines)
      .toEqual(["'id' (\"server\") must differ from the ids of the store's own resources (a view's resources are created under its id)"]);
  });

  test('reports every problem of one view together', () => {
    const { store, customer } = base();
    const r = problems(() => store.addFeatureView('tx', view(customer, { schedule: 'x', timeZone: '?', materializationTimeout: Duration.seconds(1) })));
    expect(r.lines.map((l) => l.slice(0, l.indexOf(' ')))).toEqual(["'schedule'", "'timeZone'", "'materializationTimeout'"]);
  });

  test('a failed view leaves the store as it was (nothing half-registered)', () => {
    const { platform, store, customer } = base();
    expect(() => store.addFeatureView('tx', view(customer, { ttl: Duration.seconds(0) }))).toThrow(MlopsValidationError);
    store.addFeatureView('ok', view(customer));
    expect(store.views.map((v) => v.viewName)).toEqual(['ok']);
    expect(() => synth(platform)).not.toThrow();
  });
});

describe('Entity fails at construction', () => {
  test.each<[string, () => Partial<ConstructorParameters<typeof Entity>[2]>, string]>([
    ['a bad entity name', () => ({ entityName: 'card-holder' }), "'entityName' (\"card-holder\") entity name must start with a letter"],
    ['a bad join key', () => ({ joinKey: 'card id' }), "'joinKey' (\"card id\") join key must start with a letter"],
    ['a float join key', () => ({ joinKeyType: 'float64' as never }), "'joinKeyType' (\"float64\") Invalid option: expected one of \"int32\"|\"int64\"|\"string\""],
  ])('fails if %s', (_name, over, expected) => {
    const { store } = base();
    const r = problems(() => new Entity(store, 'card', { joinKeyType: 'string', ...over() }));
    expect(r.path).toBe('dev/features/card');
    expect(r.lines.join('\n')).toContain(expected);
  });

  test('fails if the name or the join key is already taken', () => {
    const { store } = base();
    expect(problems(() => store.addEntity('customer2', { entityName: 'customer', joinKeyType: 'int64' })).lines).toEqual(["'entityName' (\"customer\") duplicate entity name 'customer'"]);
    expect(problems(() => store.addEntity('account', { joinKey: 'customer_id', joinKeyType: 'int64' })).lines)
      .toEqual(["'joinKey' (\"customer_id\") entity 'account' uses join key 'customer_id', already the join key of entity 'customer'"]);
  });

  test('fails if created outside a FeatureStore', () => {
    const { platform } = newPlatform();
    expect(() => new Entity(platform, 'customer', { joinKeyType: 'int64' })).toThrow("Entity must be created in a FeatureStore (new Entity(store, id, props)); 'dev' is not one");
  });
});

describe('FeatureService fails at construction', () => {
  test('fails if it names a feature its view does not have (view.feature)', () => {
    const { transactions } = fraudStore();
    const r = problems(() => transactions.feature('amount_30d'));
    expect(r.path).toBe('dev/features/transactions');
    expect(r.lines).toEqual(["'feature' (\"amount_30d\") must be a feature of view 'transactions': 'amount_7d', 'count_1h', 'last_country'"]);
  });

  test('fails if a hand-made reference names a missing feature (the runtime check)', () => {
    const { store, transactions, merchants } = fraudStore();
    const bad: FeatureReference = { view: transactions, featureName: 'amount_30d' };
    const r = problems(() => new FeatureService(store, 'risk', { features: [merchants, bad] }));
    expect(r.path).toBe('dev/features/risk');
    expect(r.lines).toEqual([
      "'features[1]' (\"transactions:amount_30d\") feature service 'risk' names feature 'amount_30d', which feature view 'transactions' does not have; it has 'amount_7d', 'count_1h', 'last_country'",
    ]);
  });

  test('fails if a feature is named twice, the name repeats, is malformed, or the list is empty', () => {
    const { store, transactions } = fraudStore();
    expect(problems(() => store.addFeatureService('risk', { features: [transactions, transactions.feature('count_1h')] })).lines)
      .toEqual(["'features[1]' (\"transactions:count_1h\") feature service 'risk' names 'transactions:count_1h' twice"]);
    expect(problems(() => store.addFeatureService('fraud2', { serviceName: 'fraud', features: [transactions] })).lines)
      .toEqual(["'serviceName' (\"fraud\") duplicate feature service name 'fraud'"]);
    expect(problems(() => store.addFeatureService('f', { serviceName: 'fraud-v2', features: [transactions] })).lines.join())
      .toContain("'serviceName' (\"fraud-v2\") feature service name must start with a letter");
    expect(problems(() => store.addFeatureService('empty', { features: [] })).lines).toEqual(["'features' ([]) must list at least one feature or view"]);
  });

  test('fails if two of its views give a feature the same name (lookups without full feature names would fail)', () => {
    const { store, transactions, customer } = fraudStore();
    const hourly = store.addFeatureView('hourly', { entities: [customer], schema: [{ name: 'count_1h', type: 'int64' }], source: FeatureSource.parquet('hourly') });
    const r = problems(() => store.addFeatureService('risk', { features: [transactions, hourly] }));
    expect(r.path).toBe('dev/features/risk');
    expect(r.lines).toEqual([
      "'features[1]' (\"hourly:count_1h\") feature service 'risk' has two features named 'count_1h', from feature views 'transactions' and 'hourly'; "
        + "lookups without full_feature_names would name both columns 'count_1h' and fail: rename one of the features, or serve them from different services",
    ]);
    // Each view on its own, or the other features of both, are fine.
    expect(() => store.addFeatureService('hourly_only', { features: [hourly] })).not.toThrow();
    expect(() => store.addFeatureService('both', { features: [transactions.feature('amount_7d'), hourly] })).not.toThrow();
  });

  test("fails if a feature belongs to another store's view", () => {
    const { platform, store } = fraudStore();
    const other = new FeatureStore(platform, 'other');
    const v = other.addFeatureView('trips', { entities: [other.addEntity('driver', { joinKeyType: 'int64' })], schema: [{ name: 'n', type: 'int64' }], source: FeatureSource.parquet('trips') });
    expect(problems(() => store.addFeatureService('mixed', { features: [v] })).lines)
      .toEqual(["'features[0]' (\"trips:n\") must be a feature of this store ('dev/features'), not of 'dev/other'"]);
  });
});

describe('FeatureStore fails at construction', () => {
  test.each<[string, FeatureStoreProps, string]>([
    ['a bad store name', { storeName: 'Features' }, "'storeName' (\"Features\") must be lower-case letters, digits and '-' (no '--'), starting with a letter, at most 20 characters"],
    ['a store name that is too long', { storeName: 'a-very-long-feature-store' }, "'storeName' (\"a-very-long-feature-store\")"],
    ['a single Redis node', { onlineStore: OnlineStore.redis({ nodeCount: 1 }) },
      "'onlineStore.nodeCount' (1) must be a whole number from 2 to 6 (a primary and at least one replica in another zone, for automatic failover)"],
    ['an unknown engine version', { onlineStore: OnlineStore.redis({ engineVersion: '5.0.6' }) }, "'onlineStore.engineVersion' (\"5.0.6\") must be one of '7.1', '7.0', '6.2'"],
    ['a fractional key expiry', { onlineStore: OnlineStore.redis({ keyTtl: Duration.millis(1500) }) }, "'onlineStore.keyTtl' (\"1.5 s\") must be a whole number of seconds, at least 1"],
    ['a key expiry that is not a Duration', { onlineStore: OnlineStore.dynamodb({ keyTtl: 3600 as never }) }, "'onlineStore.keyTtl' (3600) must be a Duration (Duration.days(7))"],
    ['a DynamoDB flag that is not a boolean', { onlineStore: OnlineStore.dynamodb({ pointInTimeRecovery: 'yes' as never }) }, "'onlineStore.pointInTimeRecovery' (\"yes\") must be true or false"],
    ['a node type without failover', { onlineStore: OnlineStore.redis({ nodeType: 'cache.t2.micro' }) },
      "'onlineStore.nodeType' (\"cache.t2.micro\") must support automatic failover and encryption (not a T1/T2 node type)"],
    ['a malformed node type', { onlineStore: OnlineStore.redis({ nodeType: 'r7g.large' }) }, "'onlineStore.nodeType' (\"r7g.large\") must be an ElastiCache node type like 'cache.r7g.large'"],
    ['a privileged port', { onlineStore: OnlineStore.redis({ port: 80 }) }, "'onlineStore.port' (80) must be a TCP port from 1024 to 65535"],
    ['an unknown eviction policy', { onlineStore: OnlineStore.redis({ maxmemoryPolicy: 'lru' as never }) }, "'onlineStore.maxmemoryPolicy' (\"lru\") must be one of noeviction"],
    ['too long a snapshot retention', { onlineStore: OnlineStore.redis({ snapshotRetentionDays: 36 }) }, "'onlineStore.snapshotRetentionDays' (36) must be a whole number of days from 0 to 35"],
    ['a bad maintenance window', { onlineStore: OnlineStore.redis({ maintenanceWindow: 'sunday 3am' }) }, "'onlineStore.maintenanceWindow' (\"sunday 3am\") must be a weekly window like 'sun:03:00-sun:04:00'"],
    ['a bad client security group', { onlineStore: OnlineStore.redis({ clientSecurityGroupIds: ['default'] }) }, "'onlineStore.clientSecurityGroupIds[0]' (\"default\") must be a security group id"],
    ['no client security group', { onlineStore: OnlineStore.redis({ clientSecurityGroupIds: [] }) }, "'onlineStore.clientSecurityGroupIds' ([]) must list at least one security group"],
    ['client groups and client nodes both', { onlineStore: OnlineStore.redis({ clientSecurityGroupIds: ['sg-0123456789abcdef0'], clientNodes: { minSize: 3 } }) },
      "'onlineStore.clientNodes' ({\"minSize\":3}) must be left out with clientSecurityGroupIds: the cache admits either the nodes of the feature workloads or the groups you name, not both"],
    ['a Graviton client node type', { onlineStore: OnlineStore.redis({ clientNodes: { instanceTypes: ['m7i.large', 'm7g.large'] } }) },
      "'onlineStore.clientNodes.instanceTypes[1]' (\"m7g.large\") must be an x86_64 instance type (the runtime image is built for x86_64), not Graviton"],
    ['a malformed client node type', { onlineStore: OnlineStore.redis({ clientNodes: { instanceTypes: ['large'] } }) }, "'onlineStore.clientNodes.instanceTypes[0]' (\"large\") must be an EC2 instance type like 'm7i.large'"],
    ['no client node type', { onlineStore: OnlineStore.redis({ clientNodes: { instanceTypes: [] } }) }, "'onlineStore.clientNodes.instanceTypes' ([]) must list at least one instance type"],
    ['no client node', { onlineStore: OnlineStore.redis({ clientNodes: { minSize: 0 } }) }, "'onlineStore.clientNodes.minSize' (0) must be a whole number >= 1 (the feature server runs on these nodes)"],
    ['fewer client nodes at most than at least', { onlineStore: OnlineStore.redis({ clientNodes: { minSize: 3, maxSize: 2 } }) }, "'onlineStore.clientNodes.maxSize' (2) must be a whole number from 'minSize' (3) to 100"],
    ['a desired client node count outside the range', { onlineStore: OnlineStore.redis({ clientNodes: { minSize: 2, maxSize: 3, desiredSize: 5 } }) }, "'onlineStore.clientNodes.desiredSize' (5) must lie between 'minSize' (2) and 'maxSize' (3)"],
    ['a tiny client node disk', { onlineStore: OnlineStore.redis({ clientNodes: { diskSizeGiB: 8 } }) }, "'onlineStore.clientNodes.diskSizeGiB' (8) must be a whole number of GiB from 20 to 16384"],
    ['the internet as cache CIDR', { onlineStore: OnlineStore.redis({ cacheCidrs: ['0.0.0.0/0'] }) }, "'onlineStore.cacheCidrs[0]' (\"0.0.0.0/0\") must be a private network block (/8 or longer), not the whole internet"],
    ['a malformed cache CIDR', { onlineStore: OnlineStore.redis({ cacheCidrs: ['10.0.0.0/33'] }) }, "'onlineStore.cacheCidrs[0]' (\"10.0.0.0/33\")"],
    ['not an OnlineStore', { onlineStore: { kind: 'redis' } as never }, "'onlineStore' ({\"kind\":\"redis\"}) must be OnlineStore.redis(...) or OnlineStore.dynamodb(...)"],
    ['a bad offline prefix', { offlineStore: OfflineStore.platformBucket({ prefix: '/features/' }) }, "'offlineStore.prefix' (\"/features/\") must be an S3 key prefix without leading or trailing '/'"],
    ['a bad version retention', { offlineStore: OfflineStore.ownBucket({ noncurrentVersionExpirationDays: 0 }) }, "'offlineStore.noncurrentVersionExpirationDays' (0) must be a whole number of days >= 1"],
    ['min replicas above max', { serverMinReplicas: 5, serverMaxReplicas: 3 }, "'serverMaxReplicas' (3) must be a whole number not below 'serverMinReplicas' (5)"],
    ['zero replicas', { serverMinReplicas: 0 }, "'serverMinReplicas' (0) must be a whole number >= 1"],
    ['a CPU target over 100 %', { serverCpuTarget: 150 }, "'serverCpuTarget' (150) must be a whole percentage from 10 to 100"],
    ['a batch limit of zero (the runtime schema)', { serverMaxEntitiesPerRequest: 0 }, "'serverMaxEntitiesPerRequest' (0) Too small: expected number to be >0"],
    ['an Athena cutoff under 10 MB', { athenaBytesScannedCutoff: 1000 }, "'athenaBytesScannedCutoff' (1000) must be a whole number of bytes >= 10485760 (Athena's minimum, 10 MB)"],
  ])('fails if %s', (_name, props, expected) => {
    const { platform } = newPlatform();
    const r = problems(() => new FeatureStore(platform, 'features', props));
    expect(r.path).toBe('dev/features');
    expect(r.lines.join('\n')).toContain(expected);
  });

  test('fails if the platform uses an existing network and no cache CIDRs are given', () => {
    const { platform } = newPlatform({
      network: Network.fromExisting({ vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'] }),
      cluster: Cluster.fromExisting({ clusterName: 'shared' }),
    });
    expect(problems(() => new FeatureStore(platform, 'features')).lines).toEqual([
      "'onlineStore.cacheCidrs' (undefined) must list the CIDR blocks of the cache's subnets: the platform uses an existing network, whose CIDR is not known at synth time",
    ]);
    // DynamoDB needs no CIDR
    expect(() => new FeatureStore(platform, 'other', { onlineStore: OnlineStore.dynamodb() })).not.toThrow();
  });

  test('fails at synthesis if the key expiry is shorter than an online view\'s TTL', () => {
    const { platform, customer, store } = base({ onlineStore: OnlineStore.dynamodb({ keyTtl: Duration.hours(1) }) });
    store.addFeatureView('tx', view(customer, { ttl: Duration.days(1) }));
    expect(() => synth(platform)).toThrow("feature registry 'onlineStore.keyTtlSeconds': 3600 is shorter than the ttlSeconds (86400) of feature view 'tx'");
  });
});

describe('the whole registry is validated again at synth time, with the runtime schema', () => {
  test('fails if the store has no view', () => {
    const { platform, store } = base();
    expect(store.entities).toHaveLength(1);
    expect(() => synth(platform)).toThrow(/'dev\/features' \(construct\) a FeatureStore needs at least one entity \(store\.addEntity\) and one feature view \(store\.addFeatureView\); it has 1 and 0/);
  });

  test('a definition changed behind the API (escape hatch) is caught before anything is written', () => {
    const { platform, transactions } = fraudStore();
    (transactions.schema as { name: string; type: string }[]).push({ name: 'amount_7d', type: 'float64' });
    expect(validationMessage(() => synth(platform))).toContain("'dev/features' (construct) feature registry 'featureViews.0.features.3.name': feature view 'transactions' declares feature 'amount_7d' twice");
  });

  test('store.view and store.service fail naming what exists', () => {
    const { store } = fraudStore();
    expect(problems(() => store.view('nope')).lines).toEqual(["'view' (\"nope\") must name a feature view of this store: 'transactions', 'merchants', 'history'"]);
    expect(problems(() => store.service('nope')).lines).toEqual(["'service' (\"nope\") must name a feature service of this store: 'fraud'"]);
  });
});

// A FeatureView in a scope that is not a store.
test('FeatureView fails if created outside a FeatureStore', () => {
  const { platform } = newPlatform();
  expect(() => new FeatureView(platform, 'tx', {} as FeatureViewProps)).toThrow(/FeatureView must be created in a FeatureStore/);
});

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixtureRegistry, tempDir } from './helpers';
import { featureRegistrySchema, findFeatureRegistryProblems, parseFeatureRef } from '../../../src/runtime/config/features';
import { FeatureCatalog } from '../../../src/runtime/features';

const base = () => fixtureRegistry('/data/offline', { type: 'memory' });

function messages(doc: unknown): string[] {
  const r = featureRegistrySchema.safeParse(doc);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('feature registry schema', () => {
  test('the fixture registry is valid and defaults are applied', () => {
    const doc = featureRegistrySchema.parse(fixtureRegistry('/data/offline', undefined));
    expect(doc.apiVersion).toBe('cdk-mlops.features/v1');
    expect(doc.onlineStore).toEqual({
      type: 'redis',
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'cdk-mlops:features:',
      tls: false,
      connectTimeoutMs: 5000,
      commandTimeoutMs: 2000,
    });
    expect(doc.featureServer.port).toBe(6566);
    expect(doc.featureServer.maxEntitiesPerRequest).toBe(1000);
    expect(doc.featureViews[1].timestampField).toBe('event_timestamp');
    expect(doc.featureViews[1].online).toBe(true);
    expect(doc.featureViews[1].ttlSeconds).toBeUndefined();
  });

  test('keyTtlSeconds shorter than an online view\'s TTL is refused (values would expire while fresh)', () => {
    const doc = fixtureRegistry('/data/offline', { type: 'redis', keyTtlSeconds: 7200 });
    expect(messages(doc)).toEqual([
      "onlineStore.keyTtlSeconds: 7200 is shorter than the ttlSeconds (86400) of feature view 'pair_stats': its values would expire while still fresh; give at least 86400",
    ]);
    doc.featureViews[2].online = false;
    expect(messages(doc)).toEqual([]);
    expect(messages(fixtureRegistry('/data/offline', { type: 'redis', keyTtlSeconds: 0 }))).toEqual(['onlineStore.keyTtlSeconds: Too small: expected number to be >0']);
  });

  test('a DynamoDB online store: table, region and endpoint checked, defaults applied', () => {
    expect(featureRegistrySchema.parse(fixtureRegistry('/data/offline', { type: 'dynamodb', table: 'acme-features', region: 'eu-west-1' })).onlineStore).toEqual({
      type: 'dynamodb', table: 'acme-features', region: 'eu-west-1', keyPrefix: 'cdk-mlops:features:', requestTimeoutMs: 2000,
    });
    expect(messages(fixtureRegistry('/data/offline', { type: 'dynamodb', table: 'a b', region: 'Europe', endpoint: 'localhost:8000' }))).toEqual([
      "onlineStore.table: must be a DynamoDB table name: 3 to 255 letters, digits, '_', '-' or '.'",
      "onlineStore.region: must be an AWS region like 'eu-west-1'",
      'onlineStore.endpoint: must be an http:// or https:// URL',
    ]);
  });

  test('an unknown entity is named with the view and the known entities', () => {
    const doc = base();
    doc.featureViews[0].entities = ['drivr'];
    expect(messages(doc)).toEqual([
      "featureViews.0.entities.0: feature view 'driver_stats' names unknown entity 'drivr'; known entities: 'driver', 'customer'",
    ]);
  });

  test('duplicate feature names, and features named like keys or timestamps', () => {
    const doc = base();
    doc.featureViews[0].features.push({ name: 'conv_rate', valueType: 'float64' });
    doc.featureViews[0].features.push({ name: 'driver_id', valueType: 'int64' });
    doc.featureViews[0].features.push({ name: 'created', valueType: 'unix_timestamp' });
    expect(messages(doc)).toEqual([
      "featureViews.0.features.3.name: feature view 'driver_stats' declares feature 'conv_rate' twice",
      "featureViews.0.features.4.name: feature view 'driver_stats': feature 'driver_id' has the name of a join key",
      "featureViews.0.features.5.name: feature view 'driver_stats': feature 'created' has the name of a timestamp column",
    ]);
  });

  test('TTL <= 0 is refused by the schema and by the pure check', () => {
    const doc = base();
    doc.featureViews[0].ttlSeconds = 0;
    expect(messages(doc)).toEqual([
      "featureViews.0.ttlSeconds: feature view 'driver_stats': ttlSeconds (0) must be a whole number of seconds greater than 0 (leave it out for values that never expire)",
    ]);
    const problems = findFeatureRegistryProblems({
      entities: [{ name: 'driver', valueType: 'int64' }],
      featureViews: [{ name: 'driver_stats', entities: ['driver'], features: [{ name: 'x', valueType: 'int64' }], ttlSeconds: -5 }],
    });
    expect(problems).toEqual([{
      path: ['featureViews', 0, 'ttlSeconds'],
      message: "feature view 'driver_stats': ttlSeconds (-5) must be a whole number of seconds greater than 0 (leave it out for values that never expire)",
    }]);
  });

  test('a feature service naming a missing feature or view, twice, or malformed', () => {
    const doc = base();
    doc.featureServices = [{ name: 'svc', features: ['driver_stats:nope', 'ghost:x', 'driver_stats:conv_rate', 'driver_stats:conv_rate', 'conv_rate'] }];
    expect(messages(doc)).toEqual([
      "featureServices.0.features.0: feature service 'svc' names feature 'nope', which feature view 'driver_stats' does not have; it has 'conv_rate', 'acc_rate', 'avg_daily_trips'",
      "featureServices.0.features.1: feature service 'svc' names unknown feature view 'ghost' (in 'ghost:x'); known views: 'driver_stats', 'customer_profile', 'pair_stats'",
      "featureServices.0.features.3: feature service 'svc' names 'driver_stats:conv_rate' twice",
      "featureServices.0.features.4: feature service 'svc': 'conv_rate' is not a reference of the form 'view:feature'",
    ]);
  });

  test('a feature service with one feature name from two views (every lookup without full_feature_names would fail)', () => {
    const doc = base();
    doc.featureViews[2].features.push({ name: 'conv_rate', valueType: 'float64' });
    doc.featureServices = [
      { name: 'clash', features: ['driver_stats:conv_rate', 'customer_profile:tier', 'pair_stats:conv_rate'] },
      { name: 'fine', features: ['driver_stats:conv_rate', 'pair_stats:trips_together'] },
    ];
    const expected = "featureServices.0.features.2: feature service 'clash' has two features named 'conv_rate', from feature views 'driver_stats' and 'pair_stats'; "
      + "lookups without full_feature_names would name both columns 'conv_rate' and fail: rename one of the features, or serve them from different services";
    expect(messages(doc)).toEqual([expected]);
    expect(findFeatureRegistryProblems(doc).map((p) => p.path)).toEqual([['featureServices', 0, 'features', 2]]);
    // The runtime refuses the registry at load.
    expect(() => FeatureCatalog.fromObject(doc)).toThrow("feature service 'clash' has two features named 'conv_rate', from feature views 'driver_stats' and 'pair_stats'");
  });

  test('duplicate entity, view, service names and shared join keys', () => {
    const doc = base();
    doc.entities.push({ name: 'driver', valueType: 'int64' }, { name: 'rider', joinKey: 'driver_id', valueType: 'int64' });
    doc.featureViews.push({ ...doc.featureViews[1] });
    doc.featureServices!.push({ ...doc.featureServices![0] });
    expect(messages(doc)).toEqual([
      "entities.2.name: duplicate entity name 'driver'",
      "entities.3.joinKey: entity 'rider' uses join key 'driver_id', already the join key of entity 'driver'",
      "featureViews.3.name: duplicate feature view name 'customer_profile'",
      "featureServices.1.name: duplicate feature service name 'fraud_v1'",
    ]);
  });

  test('structural errors name the field', () => {
    const doc = base() as unknown as Record<string, unknown>;
    (doc.featureViews as Record<string, unknown>[])[0].source = { type: 'csv', path: 'x' };
    (doc.entities as Record<string, unknown>[])[0].valueType = 'float64';
    const msgs = messages(doc);
    expect(msgs.some((m) => m.startsWith('entities.0.valueType:'))).toBe(true);
    expect(msgs.some((m) => m.startsWith('featureViews.0.source.type:'))).toBe(true);
  });

  test('parseFeatureRef', () => {
    expect(parseFeatureRef('a:b')).toEqual({ view: 'a', feature: 'b' });
    expect(parseFeatureRef('a:b:c')).toBeUndefined();
    expect(parseFeatureRef('a')).toBeUndefined();
    expect(parseFeatureRef('a:1x')).toBeUndefined();
  });
});

describe('FeatureCatalog', () => {
  test('reads a file, applies environment overrides and resolves paths against the offline root', () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'registry.json');
      fs.writeFileSync(file, JSON.stringify(fixtureRegistry('offline', { type: 'redis' })));
      const catalog = FeatureCatalog.fromFile(file, { CDK_MLOPS_FEATURES_ONLINE_STORE__KEY_PREFIX: 'ovr-', CDK_MLOPS_FEATURES_FEATURE_SERVER__PORT: '7000' });
      expect(catalog.registry.onlineStore).toMatchObject({ type: 'redis', keyPrefix: 'ovr-' });
      expect(catalog.registry.featureServer.port).toBe(7000);
      expect(catalog.view('driver_stats').sourcePath).toBe(path.join(tmp.dir, 'offline', 'driver_stats'));
      expect(catalog.view('pair_stats').joinKeys).toEqual([{ name: 'driver_id', valueType: 'int64' }, { name: 'customer_id', valueType: 'string' }]);
    } finally {
      tmp.remove();
    }
  });

  test('a file with problems fails naming the file and each problem', () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'registry.json');
      const doc = fixtureRegistry('offline', { type: 'memory' });
      doc.featureViews[2].entities = ['driver', 'nobody'];
      fs.writeFileSync(file, JSON.stringify(doc));
      expect(() => FeatureCatalog.fromFile(file, {})).toThrow(`invalid config file ${file}:\n  - 'featureViews.2.entities.1' ("nobody"): feature view 'pair_stats' names unknown entity 'nobody'`);
    } finally {
      tmp.remove();
    }
  });

  test('resolves features and services; refuses ambiguous, duplicate and unknown references', () => {
    const catalog = FeatureCatalog.fromObject(base());
    expect(catalog.resolveFeatures({ featureService: 'fraud_v1' }).map((f) => f.outputName)).toEqual(['conv_rate', 'tier', 'avg_daily_trips']);
    expect(catalog.resolveFeatures({ features: ['driver_stats:conv_rate'], fullFeatureNames: true })[0].outputName).toBe('driver_stats__conv_rate');
    expect(() => catalog.resolveFeatures({ features: ['driver_stats:avg_daily_trips', 'driver_stats:avg_daily_trips'] })).toThrow("'driver_stats:avg_daily_trips' is requested twice");
    expect(() => catalog.resolveFeatures({ featureService: 'nope' })).toThrow("unknown feature service 'nope'; known services: fraud_v1");
    expect(() => catalog.resolveFeatures({ features: ['driver_stats:speed'] })).toThrow("feature view 'driver_stats' has no feature 'speed'; it has conv_rate, acc_rate, avg_daily_trips");
    expect(() => catalog.resolveFeatures({ features: ['x'], featureService: 'fraud_v1' })).toThrow('not both');
    const twoViews = base();
    twoViews.featureViews.push({ ...twoViews.featureViews[0], name: 'driver_stats_v2' });
    const c2 = FeatureCatalog.fromObject(twoViews);
    expect(() => c2.resolveFeatures({ features: ['driver_stats:conv_rate', 'driver_stats_v2:conv_rate'] }))
      .toThrow("'driver_stats_v2:conv_rate' and 'driver_stats:conv_rate' would both be named 'conv_rate'; set full_feature_names to get 'view__feature' names");
    expect(c2.resolveFeatures({ features: ['driver_stats:conv_rate', 'driver_stats_v2:conv_rate'], fullFeatureNames: true }).map((f) => f.outputName))
      .toEqual(['driver_stats__conv_rate', 'driver_stats_v2__conv_rate']);
  });
});

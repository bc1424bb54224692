import {
  Duration, Entity, FeatureService, FeatureSource, FeatureStore, FeatureStoreProps, FeatureView, MlopsValidationError, MlPlatform,
  MlPlatformProps, PlatformSynthesis,
} from '../../src';
import { kubeObjects, newPlatform, synth, TestKubeObject, tfResources } from '../support/platform';

/** The namespace of the feature workloads in the test platform. */
export const FEATURES_NS = 'acme-ml-features';

/** A store with the fraud example: two entities, three views (one offline only), one service. */
export interface FraudStore {
  platform: MlPlatform;
  store: FeatureStore;
  customer: Entity;
  merchant: Entity;
  transactions: FeatureView;
  merchants: FeatureView;
  history: FeatureView;
  fraud: FeatureService;
}

/** Builds the fraud example in a fresh platform (not synthesized). */
export function fraudStore(props: FeatureStoreProps = {}, platformProps: Partial<MlPlatformProps> = {}): FraudStore {
  const { platform } = newPlatform(platformProps);
  const store = new FeatureStore(platform, 'features', props);
  const customer = store.addEntity('customer', { joinKey: 'customer_id', joinKeyType: 'int64', description: 'a card holder' });
  const merchant = new Entity(store, 'merchant', { joinKey: 'merchant_id', joinKeyType: 'string' });
  const transactions = store.addFeatureView('transactions', {
    entities: [customer],
    schema: [
      { name: 'amount_7d', type: 'float64', description: 'sum of amounts over 7 days' },
      { name: 'count_1h', type: 'int64' },
      { name: 'last_country', type: 'string' },
    ],
    source: FeatureSource.parquet('transactions'),
    createdTimestampField: 'created_at',
    ttl: Duration.days(2),
    schedule: '*/15 * * * *',
  });
  const merchants = new FeatureView(store, 'merchants', {
    entities: [merchant],
    schema: [{ name: 'risk_score', type: 'float32' }, { name: 'is_online', type: 'bool' }],
    source: FeatureSource.parquet('s3://partner-data-bucket/merchants/', { kmsKeyArn: 'arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab' }),
    schedule: '@daily',
    timeZone: 'Europe/Paris',
  });
  const history = store.addFeatureView('history', {
    entities: [customer, merchant],
    schema: [{ name: 'disputes_90d', type: 'int32' }, { name: 'first_seen', type: 'unix_timestamp' }],
    source: FeatureSource.glueTable({ database: 'lake', table: 'card_history', location: 's3://lake-bucket/card_history/' }),
    online: false,
  });
  const fraud = store.addFeatureService('fraud', {
    features: [transactions, merchants.feature('risk_score')],
    description: 'features of the fraud model',
  });
  return { platform, store, customer, merchant, transactions, merchants, history, fraud };
}

/** A synthesis with handy accessors. */
export interface Synth {
  s: PlatformSynthesis;
  /** Objects of the `features` chart. */
  features: TestKubeObject[];
  all: TestKubeObject[];
  tf: (type: string) => Record<string, any>;
  /** The one resource of a type (fails when there are several). */
  one: (type: string) => any;
}

/** Synthesizes a platform. */
export function synthesize(platform: MlPlatform): Synth {
  const s = synth(platform);
  return {
    s,
    features: (s.kubernetes['features.yaml'] ?? []) as TestKubeObject[],
    all: kubeObjects(s),
    tf: (type) => tfResources(s, type),
    one: (type) => {
      const all = Object.values(tfResources(s, type));
      if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
      return all[0];
    },
  };
}

/** The one object of a kind (and name) among `objs`. */
export function obj(objs: TestKubeObject[], kind: string, name?: string): any {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` '${name}'` : ''}, found ${found.length}: ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0];
}

/** IAM statements of the role whose name contains `fragment`. */
export function policyOf(s: PlatformSynthesis, fragment: string): { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: any }[] {
  const roles = tfResources(s, 'aws_iam_role');
  const match = Object.values(tfResources(s, 'aws_iam_role_policy')).filter((p) => {
    const ref = String(p.role).match(/aws_iam_role\.([^.]+)\.name/)?.[1];
    return ref !== undefined && String(roles[ref]?.name).endsWith(fragment);
  });
  if (match.length === 0) return [];
  if (match.length > 1) throw new Error(`several policies for roles ending in '${fragment}'`);
  return JSON.parse(String(match[0].policy)).Statement;
}

/** Runs `fn`, which must throw an MlopsValidationError; returns its problems as `'prop' (received) expected`. */
export function problems(fn: () => unknown): { path: string; lines: string[] } {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof MlopsValidationError)) throw e;
    return { path: e.constructPath, lines: e.problems.map((p) => `'${p.prop}' (${p.received}) ${p.expected}`) };
  }
  throw new Error('expected an MlopsValidationError, nothing was thrown');
}

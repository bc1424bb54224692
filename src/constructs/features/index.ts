export { FeatureStore, OfflineStore, FEATURE_SERVER_PORT, CONFIG_CHECKSUM_ANNOTATION, GLUE_COLUMN_TYPES } from './store';
export type { FeatureStoreProps, PlatformBucketOfflineOptions, OwnBucketOfflineOptions, SynthesizedFeatureRegistry } from './store';
export { Entity, FeatureService, FeatureSource, FeatureView } from './definitions';
export type {
  EntityOptions, EntityProps, FeatureField, FeatureReference, FeatureServiceOptions, FeatureServiceProps, FeatureViewOptions, FeatureViewProps,
  GlueTableSourceOptions, ParquetSourceOptions,
} from './definitions';
export { OnlineStore, REDIS_AUTH_TOKEN_ENV, REDIS_ENGINE_VERSIONS, REDIS_MAXMEMORY_POLICIES, REDIS_URL_ENV } from './online-store';
export type { DynamoDbOnlineStoreOptions, RedisMaxmemoryPolicy, RedisOnlineStoreOptions } from './online-store';
/** cdk8s' Duration: TTLs and timeouts of feature views (`Duration.days(2)`). */
export { Duration } from '../cluster/k8s';
export { FeatureNodesAdmission, featureNodesAdmissionCel, FEATURE_NODES_POOL_LABEL, FEATURE_NODES_TAINT_KEY } from './client-nodes';
export type { FeatureNodes, FeatureNodesAdmissionCel, FeatureNodesAdmissionProps, FeatureNodesOptions } from './client-nodes';

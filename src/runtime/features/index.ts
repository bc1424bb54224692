/**
 * The `features` runtime: materialization (offline Parquet -> online store), online lookups
 * (Feast's feature server API, and in process for the model server), point-in-time-correct
 * training sets (DuckDB locally, Athena SQL past one machine).
 */
export { FeatureCatalog, resolveOfflinePath } from './catalog';
export type { JoinKeyColumn, ResolvedFeature, ResolvedView } from './catalog';
export { materialize, readWatermark, viewFingerprint, keyspaceFor } from './materialize';
export type { MaterializeOptions, MaterializeResult, ViewMaterialization, ViewWatermark } from './materialize';
export { LocalOfflineFiles, S3OfflineFiles, offlineFilesFor, readParquetColumns } from './offline';
export type { OfflineFiles } from './offline';
export { OnlineFeatureService, TooManyEntitiesError } from './online';
export type { FeatureVector, FieldStatus, GetOnlineFeaturesRequest, GetOnlineFeaturesResponse, OnlineFeatureServiceOptions } from './online';
export { MemoryOnlineStore, OnlineKeyspace, RedisOnlineStore, openOnlineStore } from './online-store';
export type { OnlineStore, OnlineWrite, OnlineWriteBatch, StoredValue } from './online-store';
// The DynamoDB store (./dynamodb-store) is not re-exported: it loads the AWS SDK, which
// openOnlineStore loads only when the registry names DynamoDB.
export type { DynamoDbOnlineStore, DynamoDbRetryOptions } from './dynamodb-store';
export { ONLINE_LAYOUT_VERSION } from './materialize';
export { encodeRow, parseRow, valueSchemaOf } from './rows';
export type { Row, ValueSchema } from './rows';
export { buildFeatureServerApp, scheduleRefresh, startFeatureServer } from './server';
export type { FeatureServerApp, FeatureServerAppOptions, RefreshSchedule, RunningFeatureServer } from './server';
export { athenaTrainingSetSql, buildTrainingSet } from './training-set';
export type { AthenaTrainingSetOptions, TrainingSet, TrainingSetOptions } from './training-set';
export type { FeatureJsonValue } from './values';

import { FeatureCatalog } from './catalog';
import { GetOnlineFeaturesRequest, GetOnlineFeaturesResponse, OnlineFeatureService } from './online';
import { OnlineStore } from './online-store';

/**
 * Looks up online features in process (no HTTP): what the model server calls to enrich a
 * request. One round trip to the store; same validation, statuses and response as
 * `POST /get-online-features`. For repeated calls keep an {@link OnlineFeatureService}.
 */
export function getOnlineFeatures(
  catalog: FeatureCatalog,
  store: OnlineStore,
  request: GetOnlineFeaturesRequest,
): Promise<GetOnlineFeaturesResponse> {
  return new OnlineFeatureService(catalog, store).getOnlineFeatures(request);
}

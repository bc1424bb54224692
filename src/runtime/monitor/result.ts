import type { ColumnDrift, DatasetDrift } from './drift';
import type { PerformanceResult } from './performance';

/** Conditions the monitor reports, alerts on and may retrain on. */
export const CONDITIONS = ['dataset_drift', 'prediction_drift', 'performance_decay', 'data_quality'] as const;
/** A condition name. */
export type Condition = (typeof CONDITIONS)[number];

/** One data-quality limit exceeded. */
export interface QualityIssue {
  readonly column: string;
  readonly issue: 'missing' | 'type_errors' | 'out_of_range' | 'unknown_categories';
  readonly rate: number;
  readonly limit: number;
}

/** What happened to one alert condition in this run. */
export interface AlertAction {
  readonly condition: Condition;
  /** `sent`: a new episode was announced; `resolved`: its end was; `deduplicated`: already announced; `failed`: the webhook call failed (retried next run). */
  readonly outcome: 'sent' | 'resolved' | 'deduplicated' | 'failed' | 'disabled';
  readonly episode: string;
  readonly error?: string;
}

/** What happened to retraining in this run. */
export interface RetrainAction {
  readonly outcome: 'triggered' | 'cooldown' | 'already_triggered' | 'failed' | 'not_needed' | 'disabled';
  readonly reason?: string;
  readonly episode?: string;
  /** Kubernetes: namespace/name of the Job; local: the trigger record's path. */
  readonly target?: string;
  readonly error?: string;
  /** When the cooldown ends (ISO time), for `cooldown`. */
  readonly until?: string;
  /** Exit code of the local command, when one ran. */
  readonly exitCode?: number | null;
}

/** The JSON result of one monitor run (also written as `<model>-v<version>-<time>.json`). */
export interface MonitorResult {
  readonly schema: 'cdk-mlops.monitor.result/v1';
  readonly model: string;
  readonly version: number;
  readonly variant?: string;
  /** ISO time the run started. */
  readonly generatedAt: string;
  readonly window: { readonly start: string; readonly end: string; readonly firstRecord: string | null; readonly lastRecord: string | null };
  readonly mode: 'exact' | 'sketch' | 'auto';
  readonly reference: { readonly rows: number; readonly metrics: Readonly<Record<string, number>> };
  readonly records: {
    readonly files: number;
    readonly read: number;
    readonly rows: number;
    readonly badRecords: number;
    readonly badRows: number;
    readonly unparsable: number;
    readonly otherVersion: number;
    readonly outsideWindow: number;
  };
  readonly unexpectedFields: Readonly<Record<string, number>>;
  readonly features: readonly ColumnDrift[];
  readonly dataset: DatasetDrift;
  readonly prediction: ColumnDrift;
  readonly quality: { readonly issues: readonly QualityIssue[] };
  readonly performance: PerformanceResult;
  readonly conditions: Readonly<Record<Condition, boolean>>;
  readonly actions: { readonly alerts: readonly AlertAction[]; readonly retrain: RetrainAction };
  readonly durationMs: number;
}

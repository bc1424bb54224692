import { PropValidator } from '../errors';
import type { IModelVersion } from '../refs';
import { DURATION } from './options';

/** How to compare a measurement with its threshold. */
interface Threshold {
  readonly atMost?: number;
  readonly atLeast?: number;
}

/** Options of a prediction-quality check in an analysis. */
export interface PredictionQualityOptions {
  /** Name of the metric in the AnalysisTemplate (DNS-1123 label). */
  readonly name: string;
  /**
   * PromQL returning one sample, the quality of the new version. It may use the analysis
   * arguments `{{args.namespace}}`, `{{args.model}}`, `{{args.version}}` (the new version's
   * registry reference) and `{{args.pod-hash}}` (the new pods' template hash, label
   * `rollouts_pod_template_hash`), e.g. a DriftMonitor's
   * `max(cdk_mlops_prediction_drift_score{model="{{args.model}}",version="{{args.version}}"})`.
   */
  readonly query: string;
  /** Pass while the value is at least this. */
  readonly atLeast?: number;
  /** Pass while the value is at most this. */
  readonly atMost?: number;
  /**
   * What a measurement with no data (an empty result or NaN) counts as. `'inconclusive'`:
   * neither success nor failure; after the analysis's `inconclusiveLimit` such measurements
   * the rollout pauses for a person to decide. `'pass'`: a success, for a quality signal that
   * appears only later, such as a DriftMonitor's score of a version it has not scored yet
   * (the monitor runs on its schedule, so a new version has no score during its canary).
   * A value that is present and out of bounds fails either way.
   * @default 'inconclusive'
   */
  readonly noData?: 'inconclusive' | 'pass';
}

/**
 * One measurement of an analysis, run by Argo Rollouts against Prometheus on the new pods'
 * metrics only (selected by their pod-template hash).
 */
export class AnalysisMetric {
  /**
   * Share of inference requests answered 5xx (client errors, 4xx, are the caller's, not the
   * model's). Fails above `max`.
   * @param max a fraction, 0..1 (0.01 = 1 %)
   */
  public static errorRate(max: number): AnalysisMetric {
    return new AnalysisMetric('error-rate', 'error-rate', { atMost: max });
  }

  /**
   * The 99th percentile of inference request latency (the runtime's
   * `cdk_mlops_serve_request_duration_seconds` histogram). Fails above `maxMs`.
   */
  public static p99Latency(maxMs: number): AnalysisMetric {
    return new AnalysisMetric('p99-latency', 'p99-latency', { atMost: maxMs });
  }

  /** A prediction-quality measurement of the user's, in PromQL (see PredictionQualityOptions). */
  public static predictionQuality(options: PredictionQualityOptions): AnalysisMetric {
    return new AnalysisMetric('prediction-quality', options.name, { atLeast: options.atLeast, atMost: options.atMost }, options.query, options.noData ?? 'inconclusive');
  }

  private constructor(
    /** What it measures. */
    public readonly kind: 'error-rate' | 'p99-latency' | 'prediction-quality',
    /** Its name in the AnalysisTemplate. */
    public readonly name: string,
    /** @internal */
    public readonly _threshold: Threshold,
    /** @internal */
    public readonly _query?: string,
    /** @internal What a measurement without data counts as. */
    public readonly _noData: 'inconclusive' | 'pass' | string = 'inconclusive',
  ) {}

  /** @internal */
  public _validate(v: PropValidator, prop: string): void {
    const t = this._threshold;
    if (this.kind === 'error-rate') {
      v.check(typeof t.atMost === 'number' && t.atMost >= 0 && t.atMost < 1, `${prop}.errorRate`, t.atMost, 'must be a fraction from 0 to below 1 (0.01 = 1 %)');
    } else if (this.kind === 'p99-latency') {
      v.check(typeof t.atMost === 'number' && Number.isFinite(t.atMost) && t.atMost > 0, `${prop}.p99Latency`, t.atMost, 'must be a number of milliseconds > 0');
    } else {
      v.check(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(this.name ?? '') && this.name.length <= 63, `${prop}.name`, this.name, 'must be a DNS-1123 label');
      v.check(typeof this._query === 'string' && this._query.trim().length > 0, `${prop}.query`, this._query, 'must be a PromQL query');
      const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
      v.check((t.atLeast !== undefined || t.atMost !== undefined) && (t.atLeast === undefined || finite(t.atLeast)) && (t.atMost === undefined || finite(t.atMost)),
        `${prop}.atLeast/atMost`, { atLeast: t.atLeast, atMost: t.atMost }, 'must set a finite atLeast, atMost or both');
      v.check(this._noData === 'inconclusive' || this._noData === 'pass', `${prop}.noData`, this._noData, "must be 'inconclusive' or 'pass'");
    }
  }
}

/** The analysis that decides whether a new version goes on or is rolled back. */
export interface AnalysisOptions {
  /**
   * What to measure; at least one.
   * @default [AnalysisMetric.errorRate(0.01), AnalysisMetric.p99Latency(250)]
   */
  readonly metrics?: AnalysisMetric[];
  /**
   * Time between measurements.
   * @default '1m'
   */
  readonly interval?: string;
  /**
   * Rate window of the built-in queries.
   * @default '2m'
   */
  readonly window?: string;
  /**
   * Failed measurements of one metric tolerated before the analysis fails and the rollout
   * aborts: Argo Rollouts then sends all traffic back to the stable version and scales the new
   * pods down.
   * @default 1
   */
  readonly failureLimit?: number;
  /**
   * Measurements without data (no traffic reached the new pods) tolerated before the analysis
   * turns inconclusive, which pauses the rollout for a person to decide.
   * @default 3
   */
  readonly inconclusiveLimit?: number;
}

/** One step of a canary. */
export interface CanaryStep {
  /** Percent of traffic (1-100) sent to the new version. */
  readonly weight: number;
  /**
   * How long to hold this weight before the next step (`30s`, `10m`, `1h`), or `'indefinite'`
   * to wait for `kubectl argo rollouts promote`.
   * @default - go on at once
   */
  readonly pause?: string;
}

/** How the canary's traffic share is enforced. */
export enum CanaryTrafficRouting {
  /**
   * The Argo Rollouts Gateway API plugin (`argoproj-labs/gatewayAPI`) sets the weights of the
   * endpoint's HTTPRoute: exact percentages whatever the replica count. The plugin must be
   * registered in the Argo Rollouts controller, and Argo CD must ignore the route's
   * `backendRefs[].weight` (an `ignoreDifferences` entry), since the controller changes them.
   */
  GATEWAY_API = 'gateway-api',
  /**
   * No traffic router: Argo Rollouts scales the new ReplicaSet to `weight` percent of the
   * replicas and the Service balances over all pods, so the share is only as fine as the replica
   * count allows (5 % of 3 replicas is one pod, a third of the traffic).
   */
  REPLICAS = 'replicas',
}

/** Options of a canary. */
export interface CanaryOptions {
  /** The steps, weights increasing; after the last, the new version takes all traffic. */
  readonly steps: CanaryStep[];
  /** The background analysis that rolls back automatically (required: a canary without metrics is a guess). */
  readonly analysis: AnalysisOptions;
  /** @default CanaryTrafficRouting.GATEWAY_API */
  readonly trafficRouting?: CanaryTrafficRouting;
}

/** Options of a blue-green deployment. */
export interface BlueGreenOptions {
  /**
   * Analysis of the preview (the new version) before it is promoted. The preview is reachable
   * through the endpoint's route with the header `x-cdk-mlops-variant: preview`; without
   * preview traffic the analysis has no data, turns inconclusive and the rollout waits for a
   * person (`kubectl argo rollouts promote`).
   * @default - the default analysis metrics, 5 measurements
   */
  readonly analysis?: AnalysisOptions;
  /**
   * Measurements of the pre-promotion analysis.
   * @default 5
   */
  readonly measurements?: number;
  /**
   * Promote automatically once the analysis passes.
   * @default true
   */
  readonly autoPromote?: boolean;
  /**
   * Seconds the old version keeps running after promotion (instant rollback by `undo`).
   * @default 300
   */
  readonly scaleDownDelaySeconds?: number;
}

/** Options of a shadow deployment. */
export interface ShadowOptions {
  /** Percent (0-100) of the requests mirrored to the candidate. */
  readonly percent: number;
}

/** One arm of an A/B test. */
export interface AbTestArm {
  /** The version this arm serves (the same registry model as the endpoint's). */
  readonly model: IModelVersion;
  /** Percent of traffic (0-100); the arms' weights sum to 100. */
  readonly weight: number;
  /**
   * Variant name (label `variant` on metrics and prediction logs).
   * @default - 'primary' for the endpoint's own model, `v<N>` or the alias name otherwise
   */
  readonly variant?: string;
}

/**
 * How an endpoint rolls out a new version. Each strategy synthesizes what it needs:
 * a Deployment (rolling), an Argo Rollouts `Rollout` with an `AnalysisTemplate` (canary,
 * blue-green), a second variant with a mirroring route (shadow), or weighted variants (A/B).
 */
export class DeploymentStrategy {
  /** A Deployment's rolling update: new pods first (maxSurge 25 %), none unavailable. */
  public static rolling(): DeploymentStrategy {
    return new DeploymentStrategy('rolling', {});
  }

  /**
   * An Argo Rollouts canary: traffic moves to the new version step by step while a background
   * analysis of its own metrics runs; a failed analysis aborts the rollout, which sends all
   * traffic back to the stable version.
   */
  public static canary(options: CanaryOptions): DeploymentStrategy {
    return new DeploymentStrategy('canary', { canary: options });
  }

  /** An Argo Rollouts blue-green deployment with a preview Service and a pre-promotion analysis. */
  public static blueGreen(options: BlueGreenOptions = {}): DeploymentStrategy {
    return new DeploymentStrategy('blue-green', { blueGreen: options });
  }

  /**
   * Serve the endpoint's model and mirror `percent` of its requests to `candidate` (an
   * HTTPRoute `RequestMirror` filter): the gateway discards the candidate's answers, which the
   * candidate logs to the endpoint's prediction log with variant `shadow` for comparison.
   */
  public static shadow(candidate: IModelVersion, options: ShadowOptions): DeploymentStrategy {
    return new DeploymentStrategy('shadow', { shadow: { candidate, ...options } });
  }

  /** Split traffic by weight between versions of the model (weighted HTTPRoute backends), each with its own variant label. */
  public static abTest(arms: AbTestArm[]): DeploymentStrategy {
    return new DeploymentStrategy('ab-test', { abTest: arms });
  }

  private constructor(
    /** Which strategy. */
    public readonly kind: 'rolling' | 'canary' | 'blue-green' | 'shadow' | 'ab-test',
    /** @internal */
    public readonly _options: {
      canary?: CanaryOptions;
      blueGreen?: BlueGreenOptions;
      shadow?: ShadowOptions & { candidate: IModelVersion };
      abTest?: AbTestArm[];
    },
  ) {}

  /** Whether Argo Rollouts runs the endpoint (a `Rollout` instead of a `Deployment`). */
  public get usesRollout(): boolean {
    return this.kind === 'canary' || this.kind === 'blue-green';
  }
}

/** Defaults of an analysis, resolved. */
export interface ResolvedAnalysis {
  readonly metrics: AnalysisMetric[];
  readonly interval: string;
  readonly window: string;
  readonly failureLimit: number;
  readonly inconclusiveLimit: number;
}

/** Resolves and validates an analysis; `prop` names it in messages. */
export function resolveAnalysis(v: PropValidator, prop: string, a: AnalysisOptions | undefined): ResolvedAnalysis | undefined {
  if (a === undefined || a === null || typeof a !== 'object') {
    v.fail(prop, a, 'must be given: a canary rolls back on measurements of the new version, so it needs an analysis (e.g. { metrics: [AnalysisMetric.errorRate(0.01)] })');
    return undefined;
  }
  const metrics = a.metrics ?? [AnalysisMetric.errorRate(0.01), AnalysisMetric.p99Latency(250)];
  v.check(Array.isArray(metrics) && metrics.length > 0, `${prop}.metrics`, metrics, 'must list at least one AnalysisMetric: without metrics nothing can trigger a rollback');
  const names = new Set<string>();
  (Array.isArray(metrics) ? metrics : []).forEach((m, i) => {
    if (!(m instanceof AnalysisMetric)) {
      v.fail(`${prop}.metrics[${i}]`, m, 'must be made with AnalysisMetric.errorRate/p99Latency/predictionQuality');
      return;
    }
    m._validate(v, `${prop}.metrics[${i}]`);
    v.check(!names.has(m.name), `${prop}.metrics[${i}].name`, m.name, 'must be unique within the analysis');
    names.add(m.name);
  });
  const r: ResolvedAnalysis = {
    metrics,
    interval: a.interval ?? '1m',
    window: a.window ?? '2m',
    failureLimit: a.failureLimit ?? 1,
    inconclusiveLimit: a.inconclusiveLimit ?? 3,
  };
  v.check(DURATION.test(r.interval), `${prop}.interval`, r.interval, "must be a duration like '30s', '1m' or '1h'");
  v.check(DURATION.test(r.window), `${prop}.window`, r.window, "must be a duration like '2m'");
  v.check(Number.isInteger(r.failureLimit) && r.failureLimit >= 0 && r.failureLimit <= 100, `${prop}.failureLimit`, r.failureLimit, 'must be a whole number from 0 to 100');
  v.check(Number.isInteger(r.inconclusiveLimit) && r.inconclusiveLimit >= 0 && r.inconclusiveLimit <= 100, `${prop}.inconclusiveLimit`, r.inconclusiveLimit, 'must be a whole number from 0 to 100');
  return r;
}

/** Validates canary steps. */
export function validateSteps(v: PropValidator, prop: string, steps: CanaryStep[] | undefined): void {
  if (!v.check(Array.isArray(steps) && steps.length > 0, prop, steps, 'must list at least one step ({ weight, pause })')) return;
  let previous = 0;
  steps!.forEach((s, i) => {
    const ok = v.check(Number.isInteger(s?.weight) && s.weight >= 1 && s.weight <= 100, `${prop}[${i}].weight`, s?.weight, 'must be a whole percentage from 1 to 100');
    if (ok) {
      v.check(s.weight > previous, `${prop}[${i}].weight`, s.weight, `must be greater than the previous step's weight (${previous})`);
      previous = s.weight;
    }
    if (s?.pause !== undefined) {
      v.check(s.pause === 'indefinite' || DURATION.test(s.pause), `${prop}[${i}].pause`, s.pause, "must be a duration like '10m' or 'indefinite'");
    }
  });
}

import { higherIsBetter } from './metrics';
import type { TrainConfig } from '../config/train';

/** The outcome of the quality gate, as recorded in the manifest. */
export interface GateResult {
  readonly passed: boolean;
  /** Failures when it failed; otherwise each check that passed (and notes). */
  readonly reasons: string[];
  /** The champion version compared with, when there is one. */
  readonly comparedWith?: number;
}

/** The champion the candidate is compared with. */
export interface ChampionMetrics {
  readonly version: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** `same test split` when the champion was re-evaluated on the candidate's test rows. */
  readonly basis: 'same test split' | 'recorded metrics';
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, ''));

/**
 * The quality gate: absolute minimums and maximums per metric, and the largest regression
 * against the champion per metric (direction-aware: for losses and errors a regression is an
 * increase). A metric named in the gate that the candidate lacks is a failure (it cannot be
 * shown to pass); one the champion lacks is noted and not checked.
 */
export function evaluateGate(
  gate: Pick<TrainConfig['gate'], 'minimums' | 'maximums' | 'maxRegression' | 'alias'>,
  candidate: Readonly<Record<string, number>>,
  champion: ChampionMetrics | undefined,
): GateResult {
  const failures: string[] = [];
  const passes: string[] = [];
  const value = (metric: string, check: string): number | undefined => {
    const v = candidate[metric];
    if (v === undefined || !Number.isFinite(v)) {
      failures.push(`${check}: the candidate has no value for metric '${metric}' (it has ${Object.keys(candidate).join(', ') || 'none'})`);
      return undefined;
    }
    return v;
  };
  for (const [metric, min] of Object.entries(gate.minimums)) {
    const v = value(metric, `minimum ${metric}`);
    if (v === undefined) continue;
    (v >= min ? passes : failures).push(`${metric} ${fmt(v)} ${v >= min ? '>=' : 'is below'} the minimum ${fmt(min)}`);
  }
  for (const [metric, max] of Object.entries(gate.maximums)) {
    const v = value(metric, `maximum ${metric}`);
    if (v === undefined) continue;
    (v <= max ? passes : failures).push(`${metric} ${fmt(v)} ${v <= max ? '<=' : 'is above'} the maximum ${fmt(max)}`);
  }
  const regressions = Object.entries(gate.maxRegression);
  if (regressions.length && !champion) passes.push(`no '${gate.alias}' to compare with: regression limits not applied (first candidate)`);
  if (champion) {
    for (const [metric, limit] of regressions) {
      const v = value(metric, `regression of ${metric}`);
      if (v === undefined) continue;
      const c = champion.metrics[metric];
      if (c === undefined || !Number.isFinite(c)) {
        passes.push(`${gate.alias} v${champion.version} has no '${metric}' (${champion.basis}): its regression is not checked`);
        continue;
      }
      const regression = higherIsBetter(metric) ? c - v : v - c;
      const text = `${metric} ${fmt(v)} vs ${gate.alias} v${champion.version} ${fmt(c)} (${champion.basis}): regression ${fmt(Math.max(0, regression))}`;
      if (regression > limit + 1e-12) failures.push(`${text} exceeds the allowed ${fmt(limit)}`);
      else passes.push(`${text} within the allowed ${fmt(limit)}`);
    }
  }
  return {
    passed: failures.length === 0,
    reasons: failures.length ? failures : passes,
    ...(champion ? { comparedWith: champion.version } : {}),
  };
}

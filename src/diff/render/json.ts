import { DistDiff } from '../types';

/**
 * The diff as JSON (the {@link DistDiff} model, 2-space indented): sensitive values are
 * already absent from the model, so nothing is filtered here.
 */
export function renderJson(diff: DistDiff): string {
  return `${JSON.stringify(diff, null, 2)}\n`;
}

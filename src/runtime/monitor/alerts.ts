import type { MonitorResult, Condition } from './result';

/**
 * Alert messages for a Slack-compatible incoming webhook: `{ text, blocks }` (Slack's Block Kit;
 * Mattermost and Rocket.Chat read `text`). One message when an episode starts, one when it ends.
 */

/** A webhook payload. */
export interface WebhookMessage {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

const TITLES: Record<Condition, string> = {
  dataset_drift: 'Dataset drift',
  prediction_drift: 'Prediction drift',
  performance_decay: 'Performance decay',
  data_quality: 'Data quality',
};

function num(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return 'n/a';
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(2);
  return String(Number(x.toFixed(4)));
}

/** What the condition is about, in one line. */
export function describeCondition(condition: Condition, result: MonitorResult): string {
  switch (condition) {
    case 'dataset_drift':
      return `${result.dataset.drifted} of ${result.dataset.tested} features drifted (share ${num(result.dataset.share)} >= ${num(result.dataset.threshold)}): ${result.dataset.driftedColumns.slice(0, 10).join(', ')}${result.dataset.driftedColumns.length > 10 ? ', ...' : ''}`;
    case 'prediction_drift': {
      const p = result.prediction;
      return `prediction ${p.method} ${p.pValue !== undefined ? `p-value ${num(p.pValue)} < ${num(p.threshold)}` : `score ${num(p.statistic)} >= ${num(p.threshold)}`}`;
    }
    case 'performance_decay':
      return result.performance.comparisons.filter((c) => c.decayed).map((c) => `${c.metric} ${num(c.current)} vs ${num(c.reference)} (${(100 * c.degradation).toFixed(1)}% worse)`).join('; ');
    case 'data_quality':
      return result.quality.issues.slice(0, 10).map((i) => `${i.column}: ${i.issue.replace(/_/g, ' ')} ${(100 * i.rate).toFixed(1)}% > ${(100 * i.limit).toFixed(1)}%`).join('; ');
  }
}

/** The message announcing (or, with `resolved`, closing) an episode. */
export function alertMessage(condition: Condition, result: MonitorResult, options: { resolved?: boolean; episode: string; reportUrl?: string }): WebhookMessage {
  const who = `${result.model} v${result.version}`;
  const title = options.resolved ? `Resolved: ${TITLES[condition]} on ${who}` : `${TITLES[condition]} on ${who}`;
  const detail = options.resolved ? `no longer detected in the window ending ${result.window.end}` : describeCondition(condition, result);
  const text = `[cdk-mlops] ${title}: ${detail}`;
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: detail.slice(0, 2900) || ' ' } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Model*\n${result.model}` },
        { type: 'mrkdwn', text: `*Version*\n${result.version}` },
        { type: 'mrkdwn', text: `*Window*\n${result.window.start} – ${result.window.end}` },
        { type: 'mrkdwn', text: `*Rows*\n${result.records.rows}` },
      ],
    },
  ];
  const context: Record<string, unknown>[] = [{ type: 'mrkdwn', text: `episode \`${options.episode}\`` }];
  if (options.reportUrl) context.push({ type: 'mrkdwn', text: `<${options.reportUrl}|report>` });
  blocks.push({ type: 'context', elements: context });
  return { text, blocks };
}

/** POSTs a message as JSON; throws with the status and body start on anything but 2xx. */
export async function postWebhook(url: string, message: WebhookMessage, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) {
    const body = (await res.text().catch(() => '')).slice(0, 200);
    throw new Error(`webhook answered ${res.status}${body ? `: ${body}` : ''}`);
  }
  await res.arrayBuffer().catch(() => undefined);
}

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MonitorConfig, parseDuration } from '../config/monitor';
import type { Logger } from '../log';
import { alertMessage, postWebhook } from './alerts';
import { createJobFromCronJob, inClusterApiServer, inClusterNamespace } from './kube';
import type { AlertAction, Condition, MonitorResult, RetrainAction } from './result';
import { CONDITIONS } from './result';
import type { Episode, MonitorStateDoc, StateStore } from './state-store';

/**
 * The monitor's actions after a run, with what must hold across runs kept in the state store:
 *
 * - **episodes**: a condition that turns true opens an episode; it stays open while the
 *   condition holds and closes on the first run where it does not. A new model version starts
 *   with no open episode.
 * - **alerts**: a webhook message when an episode opens (retried on the next run if the call
 *   fails), none while it stays open, and one when it closes (`notifyResolved`).
 * - **retraining**: when a condition in `retrain.on` holds, at most one retraining per
 *   episode, and none within `retrain.cooldown` of the previous one. In a cluster the Job name
 *   is derived from the episode, so even a lost state write cannot start a second Job for the
 *   same episode (the API answers 409).
 */

/** Everything the actions need besides the result. */
export interface ActionContext {
  readonly config: MonitorConfig;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly now: number;
  /** Public URL of this run's report, for the message. */
  readonly reportUrl?: string;
  /** Service-account namespace file (tests point it elsewhere). */
  readonly namespaceFile?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const RETRAIN_PRIORITY: readonly Condition[] = ['dataset_drift', 'performance_decay', 'prediction_drift'];

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 10);
}

/** The Job name for a retraining of `episode` from `cronJob` (at most 63 characters). */
export function retrainJobName(cronJob: string, episode: string): string {
  return `${cronJob}-retrain-${shortHash(episode)}`.slice(0, 63);
}

interface Draft {
  episodes: Partial<Record<Condition, Episode>>;
  lastRetrain?: MonitorStateDoc['lastRetrain'];
}

/**
 * Applies alerts and retraining for `result`; returns what was done. The state is re-read and
 * written with a compare-and-swap; on a lost race (another monitor wrote in between) it is
 * re-read once and the actions recomputed, so nothing is announced or started twice.
 */
export async function runActions(result: MonitorResult, ctx: ActionContext): Promise<{ alerts: AlertAction[]; retrain: RetrainAction }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const loaded = await ctx.store.load();
    const prev = loaded.doc && loaded.doc.model === result.model && loaded.doc.version === result.version ? loaded.doc : undefined;
    const draft: Draft = { episodes: { ...(prev?.episodes ?? {}) }, lastRetrain: loaded.doc?.model === result.model ? loaded.doc.lastRetrain : undefined };
    const nowIso = new Date(ctx.now).toISOString();

    // 1. episodes
    const closed: [Condition, Episode][] = [];
    for (const c of CONDITIONS) {
      const open = draft.episodes[c];
      if (result.conditions[c] && !open) {
        draft.episodes[c] = { id: `${c}-v${result.version}-${nowIso}`, startedAt: nowIso };
      } else if (!result.conditions[c] && open) {
        closed.push([c, open]);
        delete draft.episodes[c];
      }
    }

    // 2. retraining decision (before any side effect, so a lost race changes nothing)
    const retrainCfg = ctx.config.retrain;
    let retrain: RetrainAction = { outcome: retrainCfg ? 'not_needed' : 'disabled' };
    let retrainEpisode: [Condition, Episode] | undefined;
    if (retrainCfg) {
      const trigger = RETRAIN_PRIORITY.find((c) => retrainCfg.on.includes(c as never) && result.conditions[c]);
      if (trigger) {
        const ep = draft.episodes[trigger]!;
        const cooldownMs = parseDuration(retrainCfg.cooldown);
        const last = draft.lastRetrain ? Date.parse(draft.lastRetrain.at) : Number.NaN;
        if (ep.retrainedAt) {
          retrain = { outcome: 'already_triggered', episode: ep.id, reason: `episode ${ep.id} already started a retraining at ${ep.retrainedAt}` };
        } else if (Number.isFinite(last) && ctx.now - last < cooldownMs) {
          retrain = { outcome: 'cooldown', episode: ep.id, until: new Date(last + cooldownMs).toISOString(), reason: `last retraining at ${draft.lastRetrain!.at}, cooldown ${retrainCfg.cooldown}` };
        } else {
          retrainEpisode = [trigger, ep];
        }
      }
    }
    if (retrainEpisode) {
      // claim first: record the retraining in the state, then act (at most once per episode)
      const [c, ep] = retrainEpisode;
      const target = retrainCfg!.kubernetes ? retrainJobName(retrainCfg!.kubernetes.cronJob, ep.id) : path.resolve(retrainCfg!.local!.recordDir);
      draft.episodes[c] = { ...ep, retrainedAt: nowIso };
      draft.lastRetrain = { at: nowIso, episode: ep.id, target, version: result.version };
    }
    const claimed: MonitorStateDoc = { schema: 'cdk-mlops.monitor.episodes/v1', model: result.model, version: result.version, episodes: draft.episodes, ...(draft.lastRetrain ? { lastRetrain: draft.lastRetrain } : {}) };
    if (!(await ctx.store.save(claimed, loaded.tag))) {
      ctx.logger.warn({ state: ctx.store.uri, attempt }, 'monitor state changed during the run (another monitor?); re-reading it');
      continue;
    }
    if (retrainEpisode) retrain = await startRetrain(result, retrainEpisode[0], retrainEpisode[1], ctx);

    // 3. alerts (after the claim; a failed call leaves the episode un-alerted, so it is retried next run)
    const alerts: AlertAction[] = [];
    const webhook = ctx.config.alerts.webhook;
    const wanted = new Set<Condition>(ctx.config.alerts.on);
    let changed = false;
    for (const c of CONDITIONS) {
      const ep = draft.episodes[c];
      if (!ep || !wanted.has(c)) continue;
      if (ep.alertedAt) {
        alerts.push({ condition: c, outcome: 'deduplicated', episode: ep.id });
        continue;
      }
      if (!webhook) {
        alerts.push({ condition: c, outcome: 'disabled', episode: ep.id });
        continue;
      }
      try {
        await postWebhook(webhook, alertMessage(c, result, { episode: ep.id, reportUrl: ctx.reportUrl }), ctx.config.alerts.timeoutMs);
        draft.episodes[c] = { ...ep, alertedAt: nowIso };
        changed = true;
        alerts.push({ condition: c, outcome: 'sent', episode: ep.id });
      } catch (e) {
        ctx.logger.error({ err: e, condition: c, episode: ep.id }, `alert webhook failed for ${c}; it is retried on the next run`);
        alerts.push({ condition: c, outcome: 'failed', episode: ep.id, error: (e as Error).message });
      }
    }
    for (const [c, ep] of closed) {
      if (!wanted.has(c) || !ep.alertedAt || !ctx.config.alerts.notifyResolved || !webhook) continue;
      try {
        await postWebhook(webhook, alertMessage(c, result, { resolved: true, episode: ep.id, reportUrl: ctx.reportUrl }), ctx.config.alerts.timeoutMs);
        alerts.push({ condition: c, outcome: 'resolved', episode: ep.id });
      } catch (e) {
        ctx.logger.error({ err: e, condition: c, episode: ep.id }, `resolution message failed for ${c}`);
        alerts.push({ condition: c, outcome: 'failed', episode: ep.id, error: (e as Error).message });
      }
    }
    if (changed) {
      const again = await ctx.store.load();
      const doc: MonitorStateDoc = { ...claimed, episodes: { ...draft.episodes } };
      if (!(await ctx.store.save(doc, again.tag))) ctx.logger.warn({ state: ctx.store.uri }, 'could not record sent alerts (state changed); they may be sent again');
    }
    return { alerts, retrain };
  }
  throw new Error(`monitor state ${ctx.store.uri} kept changing during the run; giving up after 3 attempts`);
}

async function startRetrain(result: MonitorResult, condition: Condition, ep: Episode, ctx: ActionContext): Promise<RetrainAction> {
  const cfg = ctx.config.retrain!;
  const reason = `${condition}: episode ${ep.id}`;
  if (cfg.kubernetes) {
    const k = cfg.kubernetes;
    const env = ctx.env ?? process.env;
    const apiServer = k.apiServer ?? inClusterApiServer(env);
    const namespace = k.namespace ?? inClusterNamespace(ctx.namespaceFile);
    const name = retrainJobName(k.cronJob, ep.id);
    if (!apiServer || !namespace) {
      return { outcome: 'failed', episode: ep.id, reason, error: `no Kubernetes API server (${apiServer ? 'ok' : 'set retrain.kubernetes.apiServer or run in a pod'}) or namespace (${namespace ? 'ok' : 'set retrain.kubernetes.namespace'})` };
    }
    try {
      const r = await createJobFromCronJob({ apiServer, tokenFile: k.tokenFile, caFile: k.caFile, timeoutMs: k.timeoutMs }, namespace, k.cronJob, name, {
        'cdk-mlops.io/trigger': condition,
        'cdk-mlops.io/episode': ep.id,
        'cdk-mlops.io/model': result.model,
        'cdk-mlops.io/model-version': String(result.version),
      });
      ctx.logger.info({ job: `${namespace}/${name}`, created: r.created, episode: ep.id }, r.created ? `retraining Job ${namespace}/${name} created from CronJob ${k.cronJob}` : `retraining Job ${namespace}/${name} already exists`);
      return { outcome: r.created ? 'triggered' : 'already_triggered', episode: ep.id, reason, target: `${namespace}/${name}` };
    } catch (e) {
      ctx.logger.error({ err: e, cronJob: k.cronJob, namespace }, 'creating the retraining Job failed');
      return { outcome: 'failed', episode: ep.id, reason, target: `${namespace}/${name}`, error: (e as Error).message };
    }
  }
  const local = cfg.local!;
  const dir = path.resolve(local.recordDir);
  const stamp = new Date(ctx.now).toISOString().replace(/[-:.]/g, '');
  const file = path.join(dir, `retrain-${stamp}-${randomBytes(3).toString('hex')}.json`);
  const record: Record<string, unknown> = {
    schema: 'cdk-mlops.monitor.retrain/v1',
    model: result.model,
    version: result.version,
    condition,
    episode: ep.id,
    at: new Date(ctx.now).toISOString(),
    dataset: { drifted: result.dataset.drifted, tested: result.dataset.tested, share: result.dataset.share, driftedColumns: result.dataset.driftedColumns },
    performance: result.performance.comparisons,
    ...(local.command ? { command: local.command } : {}),
  };
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.writeFile(`${file}.tmp`, JSON.stringify(record, null, 2) + '\n', { flag: 'wx' });
    await fs.promises.rename(`${file}.tmp`, file);
  } catch (e) {
    return { outcome: 'failed', episode: ep.id, reason, target: file, error: (e as Error).message };
  }
  if (!local.command) return { outcome: 'triggered', episode: ep.id, reason, target: file };
  const exitCode = await runCommand(local.command, local.timeoutSeconds * 1000, { ...process.env, CDK_MLOPS_RETRAIN_RECORD: file }, ctx.logger);
  return exitCode === 0
    ? { outcome: 'triggered', episode: ep.id, reason, target: file, exitCode }
    : { outcome: 'failed', episode: ep.id, reason, target: file, exitCode, error: exitCode === null ? `command timed out after ${local.timeoutSeconds} s` : `command exited with ${exitCode}` };
}

function runCommand(argv: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv, logger: Logger): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (c: Buffer) => {
      tail = (tail + c.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      logger.error({ err: e, command: argv }, 'retraining command could not start');
      resolve(127);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      logger.info({ command: argv, code, timedOut, outputTail: tail }, 'retraining command finished');
      resolve(timedOut ? null : code ?? null);
    });
  });
}

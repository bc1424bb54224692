import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfigFile, parseConfig } from '../../runtime/config/load';
import { MONITOR_ENV_PREFIX, MonitorConfig, MonitorConfigSchema } from '../../runtime/config/monitor';
import { InputError } from '../../runtime/errors';
import { createLogger } from '../../runtime/log';
import { openObjectStore } from '../../runtime/monitor/logs';
import { MonitorMetrics } from '../../runtime/monitor/metrics';
import { MonitorDeps, runMonitorOnce } from '../../runtime/monitor/monitor';
import { MonitorService } from '../../runtime/monitor/service';
import { openStateStore } from '../../runtime/monitor/state-store';
import { openRegistry } from '../../runtime/registry/registry';

/** One-line description for `cdk-mlops --help`. */
export const summary = 'compare live prediction logs with a model version\'s reference: drift, data quality, performance; alert and retrain';

const USAGE = `usage: cdk-mlops monitor [--config <file>] [options]

Reads the reference statistics of a model version from the registry and a window of its
prediction logs (and labels), and reports per-feature drift, prediction drift, data quality
and performance: a JSON result and an HTML report in the report directory, Prometheus
metrics, an alert webhook and a retraining trigger (see the README, "Drift monitoring").

options:
  --config <file>        configuration (YAML or JSON; see src/runtime/config/monitor.ts);
                         environment overrides: ${MONITOR_ENV_PREFIX}_<FIELD>, e.g. ${MONITOR_ENV_PREFIX}_WINDOW=6h
  --model <name>         model name
  --version <n|alias>    version or alias to monitor (default: latest)
  --registry <uri>       registry: a directory, file:// URI or s3://bucket/prefix
  --logs <uri>           prediction-log root: a directory, file:// URI or s3://bucket/prefix
  --window <duration>    window of logs ending now, e.g. 1h, 24h, 7d (default 24h)
  --report-dir <dir>     where reports go (default ./monitor-reports)
  --mode <m>             exact | sketch | auto (default auto)
  --once                 run once and exit (default; a CronJob)
  --continuous           run every 'interval' and serve /metrics (a Deployment)
  --fail-on-drift        exit 3 when dataset drift, prediction drift or performance decay is found
  --check                validate the configuration, print it with defaults, and exit
  -h, --help             this text

Exit codes: 0 the run completed (whatever it found); 1 the run failed; 2 bad configuration;
3 with --fail-on-drift, drift or decay found.`;

/** Reads the configuration: file + environment, then command-line flags on top. */
export function resolveMonitorConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): { config: MonitorConfig; check: boolean; failOnDrift: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      'config': { type: 'string' },
      'model': { type: 'string' },
      'version': { type: 'string' },
      'registry': { type: 'string' },
      'logs': { type: 'string' },
      'window': { type: 'string' },
      'report-dir': { type: 'string' },
      'mode': { type: 'string' },
      'once': { type: 'boolean' },
      'continuous': { type: 'boolean' },
      'fail-on-drift': { type: 'boolean' },
      'check': { type: 'boolean' },
      'help': { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.once && values.continuous) throw new InputError('--once/--continuous', 'give one of them, not both');
  const raw = loadConfigFile(z.record(z.string(), z.unknown()), values.config, MONITOR_ENV_PREFIX, env);
  const out: Record<string, unknown> = { ...raw };
  if (values.model !== undefined) out.model = values.model;
  if (values.version !== undefined) out.version = /^[0-9]+$/.test(values.version) ? Number(values.version) : values.version;
  if (values.registry !== undefined) out.registry = values.registry;
  if (values.logs !== undefined) out.logs = values.logs;
  if (values.window !== undefined) out.window = values.window;
  if (values.once) out.once = true;
  if (values.continuous) out.once = false;
  if (values['report-dir'] !== undefined) out.output = { ...(out.output as object | undefined), reportDir: values['report-dir'] };
  if (values.mode !== undefined) out.state = { ...(out.state as object | undefined), mode: values.mode };
  const config = parseConfig(MonitorConfigSchema, out, values.config ? `config file ${values.config}` : 'configuration');
  return { config, check: Boolean(values.check), failOnDrift: Boolean(values['fail-on-drift']) };
}

/** The configuration with secrets masked: the webhook URL (it is the credential) and URL user info. */
export function redacted(config: MonitorConfig): MonitorConfig {
  const mask = (u: string | undefined) => (u === undefined ? undefined : u.replace(/\/\/[^/@]*@/, '//***@'));
  return {
    ...config,
    alerts: { ...config.alerts, ...(config.alerts.webhook ? { webhook: '<redacted>' } : {}) },
    output: { ...config.output, ...(config.output.pushgateway ? { pushgateway: mask(config.output.pushgateway) } : {}) },
  };
}

/** The real dependencies of a configuration. */
export function monitorDeps(config: MonitorConfig, logger = createLogger('monitor')): MonitorDeps {
  return {
    registry: openRegistry(config.registry),
    logs: openObjectStore(config.logs, 'logs'),
    labels: config.performance.labels ? openObjectStore(config.performance.labels, 'performance.labels') : undefined,
    state: openStateStore(config.stateUri ?? path.join(config.output.reportDir, 'monitor-state.json')),
    metrics: new MonitorMetrics(),
    logger,
  };
}

/** `cdk-mlops monitor`. */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  let resolved: ReturnType<typeof resolveMonitorConfig>;
  try {
    resolved = resolveMonitorConfig(argv);
  } catch (e) {
    process.stderr.write(`cdk-mlops monitor: ${(e as Error).message}\n`);
    return 2;
  }
  const { config } = resolved;
  if (resolved.check) {
    process.stdout.write(JSON.stringify(redacted(config), null, 2) + '\n');
    return 0;
  }
  const logger = createLogger('monitor');
  let deps: MonitorDeps;
  try {
    deps = monitorDeps(config, logger);
  } catch (e) {
    process.stderr.write(`cdk-mlops monitor: ${(e as Error).message}\n`);
    return 2;
  }
  if (config.once) {
    try {
      const { result, outputs } = await runMonitorOnce(config, deps);
      process.stderr.write(`dataset drift: ${result.dataset.datasetDrift ? 'yes' : 'no'} (${result.dataset.drifted}/${result.dataset.tested} features, share ${result.dataset.share.toFixed(3)}); prediction drift: ${result.prediction.drifted ? 'yes' : 'no'}; performance decay: ${result.performance.decayed ? 'yes' : 'no'}; report: ${outputs.html ?? outputs.json}\n`);
      const found = result.conditions.dataset_drift || result.conditions.prediction_drift || result.conditions.performance_decay;
      return resolved.failOnDrift && found ? 3 : 0;
    } catch (e) {
      logger.error({ err: e }, `monitor run failed: ${(e as Error).message}`);
      process.stderr.write(`cdk-mlops monitor: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const service = new MonitorService(config, deps);
  let url: string;
  try {
    url = await service.start();
  } catch (e) {
    process.stderr.write(`cdk-mlops monitor: cannot listen on ${config.server.host}:${config.server.port}: ${(e as Error).message}\n`);
    return 1;
  }
  logger.info({ url, interval: config.interval }, `monitor listening on ${url} (/metrics, /report); a run every ${config.interval}`);
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal: sig }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      logger.info({ signal: sig }, 'stopping: finishing the run in progress');
      void service.stop().then(() => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve(0);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../config/load';
import { ServeConfig, ServeConfigSchema } from '../config/serve';
import type { Logger } from '../log';
import { Lifecycle, buildApp } from './app';
import { TokenStore } from './auth';
import { FeatureEnricher, HttpFeatureSource, OnlineFeatureEnricher } from './features';
import { ModelManager } from './manager';
import { ServeMetrics } from './metrics';
import { PredictionLogger, PredictionSink, openPredictionSink } from './prediction-log';
import type { ModelRegistryClient } from '../registry/types';

/** What a server is started with besides its configuration. */
export interface ServeServerDeps {
  readonly registry: ModelRegistryClient;
  readonly logger: Logger;
  /** Prediction-log sink. @default - opened from `config.predictionLog.uri` */
  readonly predictionSink?: PredictionSink;
  /**
   * Feature enrichment. @default - from `config.features`: the feature server at
   * `features.url` over HTTP; none without `config.features`
   */
  readonly features?: FeatureEnricher;
  /** Source of randomness for sampling. @default Math.random */
  readonly random?: () => number;
  /**
   * Re-reads the configuration (file + environment) for hot reload; called when the file at
   * `configFile` changes. @default - no config hot reload
   */
  readonly reloadConfig?: () => unknown;
  /** The file `reloadConfig` reads, watched every `reload.configPollMs`. */
  readonly configFile?: string;
}

/** A listening server. */
export interface ServeServer {
  readonly app: FastifyInstance;
  readonly manager: ModelManager;
  readonly metrics: ServeMetrics;
  readonly lifecycle: Lifecycle;
  readonly predictionLog?: PredictionLogger;
  /** `http://host:port` it listens on. */
  readonly url: string;
  readonly port: number;
  /**
   * Graceful shutdown: readiness false at once, keep serving `shutdown.drainDelayMs`, stop
   * accepting, let requests in flight finish, release models, flush prediction logs. Bounded by
   * `shutdown.timeoutMs`. Idempotent (every call returns the same promise).
   */
  shutdown(reason?: string): Promise<void>;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Starts `serve`: loads and warms every model (readiness stays false until they are), builds
 * the app and listens with the configured timeouts. Fails (closing what it opened) when a model
 * cannot be loaded or the port cannot be bound.
 */
export async function startServer(config: ServeConfig, deps: ServeServerDeps): Promise<ServeServer> {
  const { logger, registry } = deps;
  const metrics = new ServeMetrics();
  const lifecycle = new Lifecycle();
  let tokens: TokenStore | undefined;
  if (config.auth.tokensFile) {
    tokens = new TokenStore(config.auth.tokensFile, logger, config.auth.reloadIntervalMs);
    tokens.watch();
    logger.info({ tokens: tokens.size, file: config.auth.tokensFile }, `bearer-token auth on: ${tokens.size} token(s) from ${config.auth.tokensFile}`);
  } else {
    logger.warn('bearer-token auth is off (no auth.tokensFile): inference and model metadata are open to anyone who can reach the port');
  }
  const predictionLog = config.predictionLog
    ? new PredictionLogger(config.predictionLog, deps.predictionSink ?? openPredictionSink(config.predictionLog.uri, config.predictionLog.s3), metrics, logger, deps.random)
    : undefined;
  const features = deps.features ?? (config.features
    ? new OnlineFeatureEnricher(config.features, new HttpFeatureSource(config.features.url, config.features.timeoutMs), logger)
    : undefined);
  const manager = new ModelManager({ registry, models: config.models, metrics, logger, aliasPollSeconds: config.reload.aliasPollSeconds });
  const closeSide = async () => {
    tokens?.close();
    await predictionLog?.close();
    await features?.close();
  };
  try {
    await manager.start();
  } catch (e) {
    await manager.close();
    await closeSide();
    throw e;
  }
  const app = buildApp({ config, manager, metrics, logger, lifecycle, tokens, predictionLog, features });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    await app.close();
    await manager.close();
    await closeSide();
    throw new Error(`cannot listen on ${config.host}:${config.port}: ${(e as Error).message}`);
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, models: manager.names() }, `serving ${manager.names().join(', ')} on ${url}`);

  let watcher: (() => void) | undefined;
  if (deps.reloadConfig && deps.configFile && config.reload.configPollMs > 0) {
    const file = deps.configFile;
    const reload = deps.reloadConfig;
    const onChange = (curr: fs.Stats, prev: fs.Stats) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
      let next: ServeConfig;
      try {
        next = parseConfig(ServeConfigSchema, reload(), `config file ${file}`);
      } catch (e) {
        logger.error({ err: e, file }, `configuration not reloaded: ${(e as Error).message}`);
        return;
      }
      const { models: _models, ...restNext } = next;
      const { models: _old, ...restOld } = config;
      if (JSON.stringify(restNext) !== JSON.stringify(restOld)) {
        logger.warn({ file }, 'configuration changed outside `models`; those changes take effect at the next restart');
      }
      logger.info({ file }, `configuration file ${file} changed; applying the model list`);
      void manager.reconcile(next.models);
    };
    fs.watchFile(file, { interval: config.reload.configPollMs, persistent: false }, onChange);
    watcher = () => fs.unwatchFile(file, onChange);
  }

  let closing: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown'): Promise<void> => {
    closing ??= (async () => {
      lifecycle.draining = true;
      logger.info({ reason, drainDelayMs: config.shutdown.drainDelayMs }, `${reason}: readiness is now false; draining`);
      const work = (async () => {
        watcher?.();
        if (config.shutdown.drainDelayMs > 0) await delay(config.shutdown.drainDelayMs);
        await app.close();
        await manager.close();
        await closeSide();
      })();
      const timedOut = await Promise.race([work.then(() => false), delay(config.shutdown.timeoutMs).then(() => true)]);
      if (timedOut) logger.error({ timeoutMs: config.shutdown.timeoutMs }, `shutdown did not finish within ${config.shutdown.timeoutMs} ms; exiting anyway`);
      else logger.info('shutdown complete');
    })();
    return closing;
  };
  return { app, manager, metrics, lifecycle, predictionLog, url, port: address.port, shutdown };
}

/**
 * Wires SIGTERM and SIGINT to a graceful shutdown that then exits with 0; a second signal
 * exits at once with 1. Returns a function that removes the handlers.
 */
export function handleSignals(server: ServeServer, logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received > 1) {
      logger.warn({ signal }, `${signal} received again: exiting now`);
      exit(1);
      return;
    }
    void server.shutdown(signal).then(() => exit(0), (e) => {
      logger.error({ err: e }, 'shutdown failed');
      exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

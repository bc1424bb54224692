import Fastify, { FastifyError, FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { InputError, NotFoundError } from '../errors';
import type { Logger } from '../log';
import { FeatureCatalog } from './catalog';
import { materialize } from './materialize';
import { OnlineFeatureService, TooManyEntitiesError } from './online';
import { OnlineStore } from './online-store';

/** Options of {@link buildFeatureServerApp}. */
export interface FeatureServerAppOptions {
  readonly catalog: FeatureCatalog;
  readonly store: OnlineStore;
  /** Pino logger for requests and 5xx details. @default - no request logging */
  readonly logger?: Logger;
  /** Clock for TTL checks (epoch ms). @default Date.now */
  readonly now?: () => number;
  /** Add the process metrics (CPU, memory, event loop) to /metrics. @default true */
  readonly processMetrics?: boolean;
}

/** The app and what it exposes besides routes. */
export interface FeatureServerApp {
  readonly app: FastifyInstance;
  /** The app's own Prometheus registry. */
  readonly metrics: Registry;
  readonly service: OnlineFeatureService;
}

/**
 * The feature server (routes, no listener):
 *
 * - `POST /get-online-features`: Feast's request and response shapes (see online.ts). The
 *   body is read as JSON whatever its content type, as Feast's `curl -d` examples need.
 *   400: malformed JSON, wrong field or entity key type, unknown field, mismatched columns;
 *   404: unknown feature view, feature or feature service; 413: body over
 *   `featureServer.bodyLimitBytes` or more than `maxEntitiesPerRequest` entity rows.
 *   Errors are `{statusCode, error, message}` with a message naming the input.
 * - `GET /health`: 200 when the online store answers, 503 otherwise.
 * - `GET /metrics`: Prometheus text from a registry owned by this app.
 */
export function buildFeatureServerApp(options: FeatureServerAppOptions): FeatureServerApp {
  const { catalog, store } = options;
  const settings = catalog.registry.featureServer;
  const service = new OnlineFeatureService(catalog, store, { now: options.now });
  const metrics = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: metrics, prefix: 'cdk_mlops_features_' });
  const requests = new Counter({
    name: 'cdk_mlops_features_requests_total',
    help: 'HTTP requests by route and status code.',
    labelNames: ['route', 'code'],
    registers: [metrics],
  });
  const duration = new Histogram({
    name: 'cdk_mlops_features_request_duration_seconds',
    help: 'HTTP request duration by route.',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [metrics],
  });
  const lookupDuration = new Histogram({
    name: 'cdk_mlops_features_online_lookup_duration_seconds',
    help: 'Online store round trip of one lookup.',
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1],
    registers: [metrics],
  });
  const entityRows = new Histogram({
    name: 'cdk_mlops_features_entity_rows',
    help: 'Entity rows per lookup.',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [metrics],
  });
  const values = new Counter({
    name: 'cdk_mlops_features_values_total',
    help: 'Feature values served, by view and status.',
    labelNames: ['view', 'status'],
    registers: [metrics],
  });

  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: settings.bodyLimitBytes,
    requestTimeout: settings.requestTimeoutMs,
  }) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(new InputError('request body', 'is empty; expected a JSON object'), undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new InputError('request body', `is not valid JSON (${(e as Error).message})`), undefined);
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ route, code: String(reply.statusCode) });
    duration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let status: number;
    if (err instanceof TooManyEntitiesError) {status = 413;} else if (err instanceof InputError) {status = 400;} else if (err instanceof NotFoundError) {status = 404;} else {
      const s = (err as FastifyError).statusCode;
      status = typeof s === 'number' && s >= 400 && s < 500 ? s : 500;
    }
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error; see the server log' });
    }
    const message = status === 413 && (err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE'
      ? `request body is larger than the limit of ${settings.bodyLimitBytes} bytes`
      : err.message;
    return reply.code(status).send({ statusCode: status, error: httpReason(status), message });
  });

  app.post('/get-online-features', async (req) => {
    const started = performance.now();
    const { response, statusCounts } = await service.lookup(req.body);
    lookupDuration.observe((performance.now() - started) / 1000);
    entityRows.observe(response.results[0]?.values.length ?? 0);
    for (const [view, counts] of statusCounts) {
      for (const [status, n] of Object.entries(counts)) if (n > 0) values.inc({ view, status }, n);
    }
    return response;
  });

  app.get('/health', async (_req, reply) => {
    try {
      await store.ping();
      return { status: 'ok', onlineStore: store.kind };
    } catch (e) {
      return reply.code(503).send({ status: 'unavailable', onlineStore: store.kind, message: (e as Error).message });
    }
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.metrics();
  });

  return { app, metrics, service };
}

function httpReason(status: number): string {
  switch (status) {
    case 400: return 'Bad Request';
    case 404: return 'Not Found';
    case 405: return 'Method Not Allowed';
    case 413: return 'Payload Too Large';
    case 415: return 'Unsupported Media Type';
    default: return 'Client Error';
  }
}

/** A listening feature server. */
export interface RunningFeatureServer {
  readonly app: FastifyInstance;
  /** `http://host:port` actually bound. */
  readonly url: string;
  /** Stops accepting, drains in-flight requests, closes the store. */
  close(): Promise<void>;
}

/**
 * Listens on `featureServer.host:port` (port 0 picks a free one). On SIGTERM/SIGINT, when
 * `handleSignals` is set, stops accepting and drains for up to `shutdownGraceMs`; a second
 * signal exits at once.
 */
export async function startFeatureServer(
  options: FeatureServerAppOptions & { readonly host?: string; readonly port?: number; readonly handleSignals?: boolean },
): Promise<RunningFeatureServer> {
  const settings = options.catalog.registry.featureServer;
  const { app } = buildFeatureServerApp(options);
  const url = await app.listen({ host: options.host ?? settings.host, port: options.port ?? settings.port });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const timer = setTimeout(() => app.server.closeAllConnections(), settings.shutdownGraceMs);
      timer.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
        await options.store.close();
      }
    })();
    return closing;
  };
  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) process.exit(1);
      options.logger?.info({ signal }, 'shutting down');
      void close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { app, url, close };
}

/** A running periodic refresh. */
export interface RefreshSchedule {
  /** Stops it; resolves once a refresh in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Re-materializes incrementally every `intervalMs` (for the in-process store, which nothing
 * else writes to). A failed refresh publishes nothing (materialization is all or nothing): it
 * is logged, the last good values keep being served, and the next tick tries again. Runs never
 * overlap; the timer does not keep the process alive.
 */
export function scheduleRefresh(catalog: FeatureCatalog, store: OnlineStore, intervalMs: number, logger?: Logger): RefreshSchedule {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = materialize(catalog, store, { logger })
      .then(() => undefined, (err: unknown) => { logger?.error({ err }, 'feature refresh failed; still serving the last good values'); })
      .finally(() => { running = undefined; });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

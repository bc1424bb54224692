import { randomBytes } from 'node:crypto';
import Fastify, { FastifyBaseLogger, LogController, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ServeConfig } from '../config/serve';
import { InputError, NotFoundError } from '../errors';
import type { Logger } from '../log';
import { RateLimiter, TokenStore, bearerToken, clientKey } from './auth';
import { HttpError } from './errors';
import type { FeatureEnricher } from './features';
import type { ModelManager } from './manager';
import type { ServeMetrics } from './metrics';
import type { ServedModel } from './model';
import type { PredictionLogger } from './prediction-log';
import { parseInferRequest } from './request';
import { inferResponseJson } from './response';

/** Platform string of the models in model metadata (as Triton names its ONNX Runtime backend). */
export const PLATFORM = 'onnxruntime_onnx';
/** Server name in the server metadata. */
export const SERVER_NAME = 'cdk-mlops';

/** Shared state between the app and the server that runs it. */
export class Lifecycle {
  /** Set on SIGTERM: readiness answers 503 from then on. */
  public draining = false;
}

/** What the app is built from. */
export interface ServeAppOptions {
  readonly config: ServeConfig;
  readonly manager: ModelManager;
  readonly metrics: ServeMetrics;
  readonly logger: Logger;
  readonly lifecycle?: Lifecycle;
  /** Accepted bearer tokens; inference and model metadata are open without. */
  readonly tokens?: TokenStore;
  readonly predictionLog?: PredictionLogger;
  readonly features?: FeatureEnricher;
  /** Server version in the server metadata. @default - the package version */
  readonly serverVersion?: string;
}

interface ModelParams {
  name: string;
  version?: string;
}

/** Per-request serving context (model labels for metrics, the reason of an error). */
interface ServeContext {
  model?: ServedModel;
  reason?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids for requests that bring none: a random prefix per process and a counter, unique
 * across replicas and restarts for all practical purposes, and much cheaper than a UUID per
 * request.
 */
function requestIds(): () => string {
  const prefix = randomBytes(6).toString('hex');
  let n = 0;
  return () => `${prefix}-${(++n).toString(36)}`;
}

function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * Builds the serving app: the Open Inference Protocol v2 REST routes, `/metrics`, auth,
 * rate limit and one error handler. It does not listen (see `./server.ts`); tests drive it with
 * `inject`.
 *
 * Status codes: 400 malformed or invalid request (the message names the field, the value and
 * what was expected), 401 missing or wrong token, 404 unknown route, model or version, 413 body
 * too large, 415 content type other than `application/json`, 429 rate limited, 503 not ready
 * or shutting down, 500 internal (details only in the log, with the request id).
 */
export function buildApp(options: ServeAppOptions): FastifyInstance {
  const { config, manager, metrics, logger, tokens, predictionLog, features } = options;
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const limits = { maxBatchRows: config.limits.maxBatchRows };
  const serverMetadata = JSON.stringify({ name: SERVER_NAME, version: options.serverVersion ?? packageVersion(), extensions: [] });
  const rate = config.limits.rateLimit.requestsPerSecond > 0
    ? new RateLimiter({
      requestsPerSecond: config.limits.rateLimit.requestsPerSecond,
      burst: config.limits.rateLimit.burst ?? Math.max(1, Math.ceil(2 * config.limits.rateLimit.requestsPerSecond)),
      maxClients: config.limits.rateLimit.maxClients,
    })
    : undefined;

  const nextId = requestIds();
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request lines cost throughput on the hot path; errors and 5xx are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.bodyLimitBytes,
    connectionTimeout: config.limits.connectionTimeoutMs,
    keepAliveTimeout: config.limits.keepAliveTimeoutMs,
    requestTimeout: config.limits.requestTimeoutMs,
    http: {
      // Headers and body must both arrive within requestTimeoutMs (node answers 408 and closes);
      // node checks every connectionsCheckingInterval (30 s by default): check often enough that
      // the limit holds within a quarter of its value.
      headersTimeout: Math.min(60_000, config.limits.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(config.limits.requestTimeoutMs / 4))),
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : nextId();
    },
  });
  // Only JSON bodies (text/plain, registered by default, would otherwise reach the handlers).
  // Plain JSON.parse: its errors say where the JSON breaks; a "__proto__" key only becomes an
  // own property (never a prototype), and the request validator refuses unknown fields.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(new InputError('request body', 'is empty; expected a JSON object (an OIP inference request)'), undefined);
    try {
      return done(null, JSON.parse(text));
    } catch (e) {
      return done(new InputError('request body', `is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });
  // One logger for every request instead of a child per request (a cost on the hot path): the
  // lines that matter (refusals at debug, every 5xx) carry the request id explicitly.
  app.setChildLoggerFactory((parent) => parent);
  app.decorateRequest('serve', null);
  const ctx = (req: FastifyRequest): ServeContext => {
    const r = req as FastifyRequest & { serve: ServeContext | null };
    if (!r.serve) r.serve = {};
    return r.serve;
  };

  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });

  const authenticate: onRequestHookHandler = (req, _reply, done) => {
    if (tokens) {
      const header = req.headers.authorization;
      if (header === undefined) {
        return done(new HttpError(401, "missing bearer token: send the header 'Authorization: Bearer <token>'", 'unauthorized', { 'www-authenticate': 'Bearer realm="cdk-mlops"' }));
      }
      const token = bearerToken(header);
      if (token === undefined) {
        return done(new HttpError(401, "malformed Authorization header: expected 'Bearer <token>'", 'unauthorized', { 'www-authenticate': 'Bearer realm="cdk-mlops", error="invalid_request"' }));
      }
      if (!tokens.verify(token)) {
        return done(new HttpError(401, 'invalid bearer token', 'unauthorized', { 'www-authenticate': 'Bearer realm="cdk-mlops", error="invalid_token"' }));
      }
    }
    if (rate) {
      const wait = rate.take(clientKey(tokens ? req.headers.authorization : undefined, req.ip));
      if (wait > 0) {
        const seconds = Math.max(1, Math.ceil(wait));
        return done(new HttpError(429, `rate limit exceeded: at most ${config.limits.rateLimit.requestsPerSecond} requests per second per client; retry in ${seconds} s`, 'rate_limited', { 'retry-after': String(seconds) }));
      }
    }
    done();
  };

  // --- metrics of inference requests -------------------------------------------------------
  // Series handles per served version, looked up once (the request path then only adds).
  interface VersionSeries {
    readonly duration: { observe(v: number): void };
    readonly codes: Map<number, { inc(by?: number): void }>;
  }
  const perVersion = new WeakMap<ServedModel, VersionSeries>();
  const recordInfer = (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply): void => {
    const c = ctx(req);
    const code = reply.statusCode;
    const seconds = reply.elapsedTime / 1000;
    const model = c.model;
    if (model) {
      let s = perVersion.get(model);
      if (!s) perVersion.set(model, s = { duration: metrics.requestDuration.series(model.labels), codes: new Map() });
      let counter = s.codes.get(code);
      if (!counter) s.codes.set(code, counter = metrics.requests.series({ ...model.labels, code: String(code) }));
      counter.inc();
      s.duration.observe(seconds);
      if (code >= 400) metrics.errors.inc({ ...model.labels, reason: c.reason ?? (code >= 500 ? 'internal' : 'bad_request') });
      return;
    }
    // Refused before a version was resolved: the model label only when it is one we serve, so
    // that client-chosen names cannot grow the series without bound.
    const name = req.params?.name;
    const labels = name !== undefined && manager.has(name)
      ? { model: name, version: '', variant: manager.variantOf(name) ?? '' }
      : { model: '', version: '', variant: '' };
    metrics.requests.inc({ ...labels, code: String(code) });
    metrics.requestDuration.observe(labels, seconds);
    if (code >= 400) metrics.errors.inc({ ...labels, reason: c.reason ?? (code >= 500 ? 'internal' : 'bad_request') });
  };

  // --- errors --------------------------------------------------------------------------------
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let status = 500;
    let message = `internal error; the server log has the details under request id ${req.id}`;
    let reason = 'internal';
    let headers: Readonly<Record<string, string>> = {};
    const code = (err as FastifyError).code;
    const statusCode = (err as FastifyError).statusCode;
    if (err instanceof HttpError) {
      status = err.statusCode;
      message = err.message;
      reason = err.reason;
      headers = err.headers;
    } else if (err instanceof InputError) {
      status = 400;
      message = err.message;
      reason = 'bad_request';
    } else if (err instanceof NotFoundError) {
      status = 404;
      message = err.message;
      reason = 'not_found';
    } else if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      message = `request body is larger than the limit of ${config.limits.bodyLimitBytes} bytes`;
      reason = 'too_large';
    } else if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      const type = req.headers['content-type'];
      message = type ? `content-type ${JSON.stringify(type)} is not supported; send application/json` : 'the request has a body but no content-type; send application/json';
      reason = 'unsupported_media_type';
    } else if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      status = 400;
      message = 'request body is empty; expected a JSON object (an OIP inference request)';
      reason = 'bad_request';
    } else if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      status = 400;
      message = 'request body length does not match its Content-Length header';
      reason = 'bad_request';
    } else if (err instanceof SyntaxError || code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      status = 400;
      message = `request body is not valid JSON: ${err.message}`;
      reason = 'bad_request';
    } else if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      status = statusCode;
      message = err.message;
      reason = 'bad_request';
    }
    ctx(req).reason = reason;
    if (status >= 500) {
      const level = status === 503 ? 'warn' : 'error';
      req.log[level]({ reqId: req.id, err, method: req.method, url: req.url, status }, `${status} answered to ${req.method} ${req.url}`);
    } else {
      req.log.debug({ reqId: req.id, status, error: message }, 'request refused');
    }
    void reply.code(status).headers(headers).send({ error: message });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}; see the Open Inference Protocol v2 REST endpoints under /v2` });
  });

  // --- health and server metadata ------------------------------------------------------------
  app.get('/v2/health/live', async (_req, reply) => reply.code(200).send());
  app.get('/v2/health/ready', async (_req, reply) => {
    if (lifecycle.draining) throw new HttpError(503, 'server is shutting down', 'not_ready');
    if (!manager.ready) throw new HttpError(503, 'server is not ready: models are loading', 'not_ready');
    return reply.code(200).send();
  });
  app.get('/v2', async (_req, reply) => reply.type('application/json; charset=utf-8').send(serverMetadata));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  // --- model metadata and readiness ----------------------------------------------------------
  const metadata = async (req: FastifyRequest<{ Params: ModelParams }>) => {
    const m = manager.get(req.params.name, req.params.version);
    return {
      name: m.name,
      versions: [String(m.version)],
      platform: PLATFORM,
      inputs: m.signature.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      outputs: m.signature.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
    };
  };
  const modelReady = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    manager.get(req.params.name, req.params.version);
    if (lifecycle.draining) throw new HttpError(503, 'server is shutting down', 'not_ready');
    return reply.code(200).send();
  };
  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    const guard = tokens || rate ? { onRequest: authenticate } : {};
    app.get<{ Params: ModelParams }>(prefix, guard, metadata);
    app.get<{ Params: ModelParams }>(`${prefix}/ready`, modelReady);
    app.post<{ Params: ModelParams }>(`${prefix}/infer`, {
      ...guard,
      onResponse: (req, reply, done) => {
        recordInfer(req, reply);
        done();
      },
    }, async (req, reply) => {
      const model = manager.get(req.params.name, req.params.version);
      model.acquire();
      ctx(req).model = model;
      let json: string;
      try {
        const body = features ? await features.enrich(req.body, model) : req.body;
        const parsed = parseInferRequest(body, model.name, model.signature, limits);
        const outputs = await model.infer(parsed);
        json = inferResponseJson({ modelName: model.name, modelVersion: String(model.version), id: parsed.id }, outputs);
        if (predictionLog && predictionLog.sample()) {
          predictionLog.offer({
            id: parsed.id ?? req.id,
            model: model.name,
            version: model.version,
            variant: model.variant,
            at: Date.now(),
            rows: parsed.rows,
            inputs: parsed.inputs,
            outputs,
            signature: model.manifest.signature,
          });
        }
      } finally {
        model.release();
      }
      return reply.type('application/json; charset=utf-8').send(json);
    });
  }
  return app;
}

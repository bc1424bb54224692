import { parseArgs } from 'node:util';
import { InputError, NotFoundError } from '../../runtime/errors';
import { createLogger } from '../../runtime/log';

/** One-line summary for `cdk-mlops --help`. */
export const summary = 'feature store: materialize offline features, serve online lookups, build training sets';

const USAGE = `usage: cdk-mlops features <materialize|serve|build-training-set> --config <registry.json> [options]

  materialize          offline Parquet -> online store (incremental by watermark, all or nothing)
      --views a,b          only these views (default: every view with online: true)
      --full               ignore the watermarks, read everything again
      --dry-run            read and check everything, publish nothing

  serve                Feast-compatible feature server: POST /get-online-features, /health, /metrics
      --host <host>        (default: featureServer.host)
      --port <port>        (default: featureServer.port, 6566)

  build-training-set   point-in-time-correct join of an entity table with feature views (DuckDB)
      --entities <file>    .parquet or .csv with the join keys and the timestamp column
      --features v:f,...   features to join, or
      --feature-service n  a feature service
      --output <file>      .parquet or .csv (required unless --emit-athena-sql)
      --timestamp-column c entity timestamp column (default: event_timestamp)
      --full-feature-names name columns view__feature
      --emit-athena-sql    print the equivalent Athena SQL over the Glue tables instead
      --entity-table db.t  the entity table in Glue (with --emit-athena-sql)

The registry (JSON or YAML) is the document the FeatureStore construct synthesizes; any field
can be overridden from the environment: CDK_MLOPS_FEATURES_<PATH>, '__' between levels
(e.g. CDK_MLOPS_FEATURES_ONLINE_STORE__URL=redis://10.0.0.5:6379).`;

function fail(message: string): number {
  process.stderr.write(`cdk-mlops features: ${message}\n`);
  return 2;
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Runs `cdk-mlops features ...`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return sub ? 0 : 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      options: {
        'config': { type: 'string' },
        'views': { type: 'string' },
        'full': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        'host': { type: 'string' },
        'port': { type: 'string' },
        'entities': { type: 'string' },
        'features': { type: 'string' },
        'feature-service': { type: 'string' },
        'output': { type: 'string' },
        'timestamp-column': { type: 'string' },
        'full-feature-names': { type: 'boolean' },
        'emit-athena-sql': { type: 'boolean' },
        'entity-table': { type: 'string' },
        'help': { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!['materialize', 'serve', 'build-training-set'].includes(sub)) {
    return fail(`unknown sub-command '${sub}'; expected materialize, serve or build-training-set`);
  }
  if (typeof values.config !== 'string') return fail('--config <registry.json> is required');

  const logger = createLogger('features');
  // Loaded here, not at the top: `cdk-mlops --help` must not load DuckDB or ioredis.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const features = require('../../runtime/features') as typeof import('../../runtime/features');
  /* eslint-enable @typescript-eslint/no-require-imports */
  try {
    const catalog = features.FeatureCatalog.fromFile(values.config);
    switch (sub) {
      case 'materialize': {
        const config = catalog.registry.onlineStore;
        if (config.type === 'memory' && !values['dry-run']) {
          return fail("the online store is 'memory': it lives in the serving process, which materializes at start; use --dry-run to check the offline data");
        }
        const store = values['dry-run'] && config.type === 'memory'
          ? new features.MemoryOnlineStore()
          : await features.openOnlineStore(config);
        try {
          const result = await features.materialize(catalog, store, {
            views: list(values.views as string | undefined),
            full: values.full === true,
            dryRun: values['dry-run'] === true,
            logger,
          });
          process.stdout.write(`${JSON.stringify({ summary: result })}\n`);
        } finally {
          await store.close();
        }
        return 0;
      }
      case 'serve': {
        const port = values.port === undefined ? undefined : Number(values.port);
        if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
          return fail(`--port (${values.port}): expected an integer from 0 to 65535`);
        }
        const config = catalog.registry.onlineStore;
        const store = await features.openOnlineStore(config);
        let refresh: { stop(): Promise<void> } | undefined;
        if (config.type === 'memory') {
          await features.materialize(catalog, store, { logger });
          if (config.refreshSeconds > 0) refresh = features.scheduleRefresh(catalog, store, config.refreshSeconds * 1000, logger);
        }
        const server = await features.startFeatureServer({
          catalog, store, logger, host: values.host as string | undefined, port, handleSignals: true,
        });
        logger.info({ url: server.url, onlineStore: store.kind }, 'feature server listening');
        await new Promise<void>((resolve) => server.app.server.once('close', () => resolve()));
        await refresh?.stop();
        return 0;
      }
      case 'build-training-set': {
        const featureList = list(values.features as string | undefined);
        const featureService = values['feature-service'] as string | undefined;
        if (values['emit-athena-sql']) {
          if (typeof values['entity-table'] !== 'string') return fail('--emit-athena-sql needs --entity-table <database.table>');
          process.stdout.write(features.athenaTrainingSetSql(catalog, {
            entityTable: values['entity-table'],
            features: featureList,
            featureService,
            timestampColumn: values['timestamp-column'] as string | undefined,
            fullFeatureNames: values['full-feature-names'] === true,
          }));
          return 0;
        }
        if (typeof values.entities !== 'string') return fail('--entities <file> is required');
        if (typeof values.output !== 'string') return fail('--output <file> is required');
        const started = performance.now();
        const result = await features.buildTrainingSet(catalog, {
          entities: values.entities,
          output: values.output,
          features: featureList,
          featureService,
          timestampColumn: values['timestamp-column'] as string | undefined,
          fullFeatureNames: values['full-feature-names'] === true,
        });
        logger.info({ output: result.output, rows: result.rowCount, columns: result.columns, durationMs: Math.round(performance.now() - started) }, 'training set written');
        return 0;
      }
    }
    return 2;
  } catch (e) {
    if (e instanceof InputError || e instanceof NotFoundError) return fail((e as Error).message);
    logger.error({ err: e }, `features ${sub} failed`);
    process.stderr.write(`cdk-mlops features ${sub}: ${(e as Error).message}\n`);
    return 1;
  }
}

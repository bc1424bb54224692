import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfigFile, parseConfig } from '../../runtime/config/load';
import { SERVE_ENV_PREFIX, ServeConfig, ServeConfigSchema } from '../../runtime/config/serve';
import { InputError } from '../../runtime/errors';
import { createLogger } from '../../runtime/log';

/** One-line description for `cdk-mlops --help`. */
export const summary = 'serve ONNX models from the registry over the Open Inference Protocol v2 (REST)';

const USAGE = `usage: cdk-mlops serve [--config <file>] [options]

Serves models from the registry over the Open Inference Protocol v2 REST API
(/v2/health/live, /v2/health/ready, /v2, /v2/models/{name}[/versions/{v}][/ready|/infer])
plus Prometheus /metrics.

options:
  --config <file>        configuration (YAML or JSON; see src/runtime/config/serve.ts);
                         environment overrides: ${SERVE_ENV_PREFIX}_<FIELD>, e.g. ${SERVE_ENV_PREFIX}_PORT=9000
  --registry <uri>       registry: a directory, file:// URI or s3://bucket/prefix
                         (default: the config's, else $CDK_MLOPS_REGISTRY, else ./.cdk-mlops/registry)
  --model <name[=ref]>   a model to serve, ref a version number or alias (default: latest);
                         repeatable; replaces the models of the config file
  --host <address>       address to bind (default 127.0.0.1; 0.0.0.0 in a container)
  --port <n>             port (default 8080)
  --check                validate the configuration, print it with defaults, and exit
  -h, --help             this text

SIGTERM/SIGINT: readiness turns false, requests in flight finish, logs are flushed, exit 0;
a second signal exits at once.`;

/** Reads the configuration: file + environment, then command-line flags on top. */
export function resolveServeConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): { config: ServeConfig; file?: string; reread: () => unknown } {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      registry: { type: 'string' },
      model: { type: 'string', multiple: true },
      host: { type: 'string' },
      port: { type: 'string' },
      check: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const file = values.config;
  const overlay = (raw: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...raw };
    if (values.registry !== undefined) out.registry = values.registry;
    // As `cdk-mlops registry`: the environment's registry, else the local loop's.
    out.registry ??= env.CDK_MLOPS_REGISTRY ?? '.cdk-mlops/registry';
    if (values.host !== undefined) out.host = values.host;
    if (values.port !== undefined) {
      if (!/^[0-9]+$/.test(values.port)) throw new InputError('--port', `${JSON.stringify(values.port)} is not a port number`);
      out.port = Number(values.port);
    }
    if (values.model?.length) {
      out.models = values.model.map((m) => {
        const [name, ref] = m.split('=', 2);
        return { name, ref: ref === undefined || ref === '' ? 'latest' : /^[0-9]+$/.test(ref) ? Number(ref) : ref };
      });
    }
    return out;
  };
  const raw = () => overlay(loadConfigFile(z.record(z.string(), z.unknown()), file, SERVE_ENV_PREFIX, env));
  const source = file ? `config file ${file}` : 'configuration';
  return { config: parseConfig(ServeConfigSchema, raw(), source), file, reread: raw };
}

/** `cdk-mlops serve`. */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  let resolved: ReturnType<typeof resolveServeConfig>;
  try {
    resolved = resolveServeConfig(argv);
  } catch (e) {
    process.stderr.write(`cdk-mlops serve: ${(e as Error).message}\n`);
    return 2;
  }
  if (argv.includes('--check')) {
    process.stdout.write(JSON.stringify(resolved.config, null, 2) + '\n');
    return 0;
  }
  const logger = createLogger('serve');
  // Loaded here, not at the top: `--help` and `--check` need neither onnxruntime nor fastify.
  const { openRegistry } = await import('../../runtime/registry/registry');
  const { startServer, handleSignals } = await import('../../runtime/serve/server');
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    const registry = openRegistry(resolved.config.registry);
    server = await startServer(resolved.config, { registry, logger, reloadConfig: resolved.reread, configFile: resolved.file });
  } catch (e) {
    logger.error({ err: e }, `cannot start: ${(e as Error).message}`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    handleSignals(server, logger, (code) => {
      logger.flush();
      resolve(code);
      if (code !== 0) process.exit(code);
      // Everything is closed; should a library still hold the event loop, do not hang on it.
      setTimeout(() => process.exit(code), 1000).unref();
    });
  });
}

import { parseArgs } from 'node:util';
import { InputError, IntegrityError, NotFoundError } from '../../runtime/errors';
import { defaultCreatedBy, openRegistry, Registry } from '../../runtime/registry/registry';
import { AliasRecord, ModelManifest } from '../../runtime/registry/types';

/** One-line description shown by `cdk-mlops --help`. */
export const summary = 'inspect the model registry: list, show, alias, verify';

/** Where the registry is when neither `--registry` nor `CDK_MLOPS_REGISTRY` says. */
export const DEFAULT_REGISTRY = './.cdk-mlops/registry';

const USAGE = `usage:
  cdk-mlops registry list [<model>]                       models, or the versions of one model
  cdk-mlops registry show <model> [<version|alias>]       one version's manifest (default: latest)
      [--card] [--reference]                              print its model card / reference statistics
  cdk-mlops registry alias <model>                        the aliases of a model, with history
  cdk-mlops registry alias <model> <alias> <version|alias> [--reason <text>] [--by <who>]
                                                          point an alias at a version
  cdk-mlops registry verify [<model> [<version|alias>]]   re-hash every file against its manifest

options:
  --registry <uri>   registry location: a directory, file:// or s3://bucket/prefix
                     (default: $CDK_MLOPS_REGISTRY, else ${DEFAULT_REGISTRY})
  --json             machine-readable output
  -h, --help         this text

exit status: 0 done; 1 not found, refused or verification failed; 2 usage error.`;

class UsageError extends Error {}

/** Where results go: text for people, or one JSON document with `--json`. */
interface Output {
  readonly json: boolean;
  text(s: string): void;
  data(v: unknown): void;
}

/** Runs `cdk-mlops registry ...`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        registry: { type: 'string' },
        json: { type: 'boolean', default: false },
        card: { type: 'boolean', default: false },
        reference: { type: 'boolean', default: false },
        reason: { type: 'string' },
        by: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    process.stderr.write(`cdk-mlops registry: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [sub, ...args] = positionals;
  const o: Output = {
    json: values.json,
    text: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    data: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
  try {
    const registry = openRegistry(values.registry ?? process.env.CDK_MLOPS_REGISTRY ?? DEFAULT_REGISTRY);
    switch (sub) {
      case 'list':
        expectArgs(args, 0, 1);
        return await list(registry, args[0], o);
      case 'show':
        expectArgs(args, 1, 2);
        return await show(registry, args[0], args[1] ?? 'latest', values, o);
      case 'alias':
        if (args.length !== 1 && args.length !== 3) throw new UsageError(`'alias' takes <model>, or <model> <alias> <version>; got ${args.length} argument(s)`);
        return await alias(registry, args, values, o);
      case 'verify':
        expectArgs(args, 0, 2);
        return await verify(registry, args[0], args[1], o);
      case undefined:
        throw new UsageError('missing sub-command: expected list, show, alias or verify');
      default:
        throw new UsageError(`unknown sub-command '${sub}': expected list, show, alias or verify`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`cdk-mlops registry: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof InputError || e instanceof NotFoundError || e instanceof IntegrityError) {
      process.stderr.write(`cdk-mlops registry: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

function expectArgs(args: string[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}: ${args.join(' ') || '(none)'}`);
  }
}

async function list(registry: Registry, model: string | undefined, o: Output): Promise<number> {
  if (!model) {
    const rows = [];
    for (const name of await registry.listModels()) {
      const versions = await registry.listVersions(name);
      const aliases = await registry.listAliases(name);
      rows.push({ model: name, versions: versions.length, latest: versions[versions.length - 1], aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])) });
    }
    if (o.json) {o.data({ registry: registry.uri, models: rows });} else {
      o.text(rows.length
        ? table(['MODEL', 'VERSIONS', 'LATEST', 'ALIASES'], rows.map((r) => [r.model, String(r.versions), String(r.latest), formatAliases(r.aliases)]))
        : `no models in ${registry.uri}`);
    }
    return 0;
  }
  const versions = await registry.listVersions(model);
  if (!versions.length) throw new NotFoundError(`model '${model}' has no versions in ${registry.uri}`);
  const aliases = await registry.listAliases(model);
  const abandoned = await registry.listAbandonedClaims(model);
  const rows = [];
  for (const v of versions) {
    const m = await registry.getManifest(model, v);
    rows.push({
      version: v,
      createdAt: m.createdAt,
      trainer: m.lineage.trainer,
      metrics: m.metrics,
      gate: m.gate ? (m.gate.passed ? 'passed' : 'failed') : 'none',
      aliases: aliases.filter((a) => a.version === v).map((a) => a.alias),
    });
  }
  if (o.json) {
    o.data({ registry: registry.uri, model, versions: rows, abandonedClaims: abandoned });
    return 0;
  }
  const lines = [table(['VERSION', 'CREATED', 'TRAINER', 'GATE', 'ALIASES', 'METRICS'], rows.map((r) => [
    String(r.version), r.createdAt, r.trainer, r.gate, r.aliases.join(', '), formatMetrics(r.metrics, 4),
  ]))];
  for (const c of abandoned) lines.push(`(number ${c.version} was claimed by ${c.claimedBy} at ${c.claimedAt} and never completed: a crashed writer, or one still writing)`);
  o.text(lines.join('\n'));
  return 0;
}

async function show(
  registry: Registry,
  model: string,
  ref: string,
  options: { card?: boolean; reference?: boolean },
  o: Output,
): Promise<number> {
  const version = await registry.resolve(model, ref);
  if (options.card) {
    process.stdout.write(await registry.getModelCard(model, version));
    return 0;
  }
  if (options.reference) {
    o.data(await registry.getReference(model, version));
    return 0;
  }
  const manifest = await registry.getManifest(model, version);
  const aliases = (await registry.listAliases(model)).filter((a) => a.version === version).map((a) => a.alias);
  if (o.json) o.data({ ...manifest, aliases });
  else o.text(describeManifest(manifest, aliases, registry.uri));
  return 0;
}

function describeManifest(m: ModelManifest, aliases: string[], uri: string): string {
  const lines = [
    `model:       ${m.model}`,
    `version:     ${m.version}${aliases.length ? ` (${aliases.join(', ')})` : ''}`,
    `registry:    ${uri}`,
    `created:     ${m.createdAt} by ${m.lineage.createdBy}`,
    `task:        ${m.signature.task}${m.signature.classes ? ` (classes ${m.signature.classes.join(', ')})` : ''}, target '${m.signature.target}'`,
    `features:    ${m.signature.featureNames.length} (${m.signature.featureNames.slice(0, 8).join(', ')}${m.signature.featureNames.length > 8 ? ', ...' : ''})`,
    `inputs:      ${m.signature.inputs.map((t) => `${t.name} ${t.datatype} [${t.shape.join(', ')}]`).join('; ')}`,
    `outputs:     ${m.signature.outputs.map((t) => `${t.name} ${t.datatype} [${t.shape.join(', ')}]`).join('; ')}`,
    `trainer:     ${m.lineage.trainer} ${m.lineage.trainerVersion}`,
    `parameters:  ${Object.entries(m.parameters).map(([k, v]) => `${k}=${v}`).join(' ') || '(none)'}`,
    `data:        ${m.lineage.dataUri} (sha256 ${m.lineage.dataHash})`,
    `code:        ${m.lineage.codeCommit}`,
    `seed:        ${m.lineage.seed}`,
    `metrics:     ${formatMetrics(m.metrics)}`,
  ];
  if (m.gate) {
    lines.push(`gate:        ${m.gate.passed ? 'passed' : 'FAILED'}${m.gate.comparedWith ? ` (against version ${m.gate.comparedWith})` : ''}`);
    for (const r of m.gate.reasons) lines.push(`             - ${r}`);
  }
  if (m.sliceMetrics) {
    for (const [column, slices] of Object.entries(m.sliceMetrics)) {
      lines.push(`slices by ${column}:`);
      for (const [value, metrics] of Object.entries(slices)) lines.push(`  ${value.padEnd(12)} ${formatMetrics(metrics)}`);
    }
  }
  lines.push('files:');
  for (const [name, f] of Object.entries(m.files)) lines.push(`  ${name.padEnd(16)} ${String(f.bytes).padStart(10)} bytes  sha256 ${f.sha256}`);
  return lines.join('\n');
}

async function alias(
  registry: Registry,
  args: string[],
  options: { reason?: string; by?: string },
  o: Output,
): Promise<number> {
  const [model, name, target] = args;
  if (!name) {
    const records = await registry.listAliases(model);
    if (o.json) o.data({ model, aliases: records });
    else o.text(records.length ? records.map(describeAlias).join('\n') : `model '${model}' has no aliases`);
    return 0;
  }
  const version = await registry.resolve(model, target);
  const record = await registry.setAlias(model, name, version, options.by ?? defaultCreatedBy(), options.reason);
  if (o.json) o.data(record);
  else o.text(`${model}: alias '${name}' now points at version ${version}`);
  return 0;
}

function describeAlias(a: AliasRecord): string {
  const lines = [`${a.alias} -> ${a.version}`];
  for (const h of [...a.history].reverse()) lines.push(`  ${h.movedAt}  -> ${String(h.version).padEnd(5)} by ${h.movedBy}${h.reason ? `: ${h.reason}` : ''}`);
  return lines.join('\n');
}

async function verify(registry: Registry, model: string | undefined, ref: string | undefined, o: Output): Promise<number> {
  const targets: { model: string; version: number }[] = [];
  for (const m of model ? [model] : await registry.listModels()) {
    if (ref !== undefined) targets.push({ model: m, version: await registry.resolve(m, ref) });
    else for (const v of await registry.listVersions(m)) targets.push({ model: m, version: v });
  }
  if (model && !targets.length) throw new NotFoundError(`model '${model}' has no versions in ${registry.uri}`);
  const results = [];
  for (const t of targets) results.push({ ...t, problems: await registry.verify(t.model, t.version) });
  const failed = results.filter((r) => r.problems.length);
  if (o.json) {o.data({ registry: registry.uri, ok: !failed.length, results });} else {
    const lines = results.map((r) => `${r.problems.length ? 'FAIL' : 'ok  '}  ${r.model} v${r.version}${r.problems.map((p) => `\n      ${p}`).join('')}`);
    lines.push(`${results.length - failed.length} of ${results.length} version(s) verified${failed.length ? `; ${failed.length} failed` : ''}`);
    o.text(lines.join('\n'));
  }
  return failed.length ? 1 : 0;
}

function formatMetrics(metrics: Readonly<Record<string, number>>, limit = Infinity): string {
  const entries = Object.entries(metrics);
  const shown = entries.slice(0, limit).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`);
  return `${shown.join(' ')}${entries.length > limit ? ' ...' : ''}` || '(none)';
}

function formatAliases(aliases: Record<string, number>): string {
  return Object.entries(aliases).map(([k, v]) => `${k}=${v}`).join(', ');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

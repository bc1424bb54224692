import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { GitOpsEnvironment } from '../../projen/environments';
import { formatPins, PIN_TARGET_PATTERN } from '../../promote/pins';
import { TRAIN_MODEL_NAME_PATTERN } from '../../runtime/config/train';
import { InputError } from '../../runtime/errors';
import { compareStrings } from '../../util/compare';

/** One-line description shown by `cdk-mlops --help`. */
export const summary = 'create a GitOps repository for a platform (program, tests, workflows, Argo CD bootstrap)';

const USAGE = `usage: cdk-mlops init <dir> [options]

Writes a GitOps repository for a cdk-mlops platform into <dir> (a new or empty folder): the
platform program (src/), its tests, pins.json, README.md and .projenrc.ts, then the files the
project type generates from .projenrc.ts (package.json, .github/workflows, argocd/, CODEOWNERS,
the pull-request template). The same options always write the same bytes.

options:
  --name <name>                 platform name, DNS-1123, <= 20 chars (default: the folder's name)
  --environments <a,b,c>        environments in promotion order (default dev,staging,prod)
  --account <id>                AWS account of every environment (default 123456789012, to replace)
  --account <env>=<id>          AWS account of one environment (repeatable)
  --region <region>             AWS region (default eu-west-1)
  --model <name>                a model to pin in pins.json (repeatable; default breast-cancer)
  --repository <url>            Git URL Argo CD reads (default https://github.com/example-org/<name>.git)
  --owners <@org/team,...>      CODEOWNERS of the repository (default @example-org/ml-platform)
  --cdk-mlops-version <spec>    version of cdk-mlops in package.json (default ^<this version>)
  --force                       write into a folder that is not empty (files of the same name are replaced)
  --install                     then run npm install, npx projen and npx projen synth in <dir>
  -h, --help                    show this help

exit status: 0 written, 2 error (nothing is written when the options are invalid).`;

const TEMPLATE_DIR = path.join(__dirname, '..', '..', '..', 'templates', 'gitops');
const DEFAULT_ACCOUNT = '123456789012';
const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;
const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

/** An environment as `src/environments.ts` declares it. */
export interface TemplateEnvironment extends GitOpsEnvironment {
  readonly cidr: string;
  readonly availabilityZones: number;
  readonly natGateways: number;
  readonly systemNodes: { readonly instanceTypes: string[]; readonly minSize: number; readonly maxSize: number };
  readonly logRetentionDays: number;
  readonly gpu: { readonly spot: boolean; readonly maxGpus: number };
}

/** What `init` writes, fully resolved. */
export interface InitOptions {
  readonly platformName: string;
  readonly environments: TemplateEnvironment[];
  readonly models: string[];
  readonly repositoryUrl: string;
  readonly codeOwners: string[];
  readonly cdkMlopsVersion: string;
}

/** Sizes of the i-th of n environments: the first is small, the others survive a zone outage. */
function environmentDefaults(name: string, i: number, n: number, account: string, region: string): TemplateEnvironment {
  const first = i === 0 && n > 1;
  const last = i === n - 1 && n > 1;
  const zones = first ? 2 : 3;
  return {
    name,
    account,
    region,
    cidr: `10.${(i + 1) * 10}.0.0/16`,
    availabilityZones: zones,
    natGateways: first ? 1 : zones,
    systemNodes: first ? { instanceTypes: ['m7i.large'], minSize: 2, maxSize: 3 } : { instanceTypes: ['m7i.xlarge'], minSize: 3, maxSize: 6 },
    logRetentionDays: first ? 30 : last ? 365 : 90,
    // GPU training on Spot except in the last environment; a small pool in the first.
    gpu: { spot: !last, maxGpus: first ? 4 : 8 },
    // The last environment does not delete what was removed from dist/ on its own.
    prune: !last,
    selfHeal: true,
  };
}

/** Resolves and validates the command line; every problem is reported at once. */
export function resolveInitOptions(values: {
  name?: string;
  environments?: string;
  account?: string[];
  region?: string;
  model?: string[];
  repository?: string;
  owners?: string;
  cdkMlopsVersion?: string;
}, dir: string): InitOptions {
  const problems: string[] = [];
  const name = values.name ?? path.basename(path.resolve(dir));
  if (!NAME_RE.test(name)) {
    problems.push(`--name: '${name}'${values.name === undefined ? ' (the folder name)' : ''} is not a platform name; expected a DNS-1123 label of at most 20 characters (lower-case letters, digits, '-')`);
  }
  const envNames = (values.environments ?? 'dev,staging,prod').split(',').map((e) => e.trim());
  envNames.forEach((e) => {
    if (!/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/.test(e)) problems.push(`--environments: '${e}' is not an environment name; expected DNS-1123 labels of at most 12 characters, comma-separated`);
  });
  if (new Set(envNames).size !== envNames.length) problems.push(`--environments: '${values.environments}' names an environment twice; expected each once`);
  if (envNames.length > 24) problems.push(`--environments: ${envNames.length} environments; expected at most 24`);
  const region = values.region ?? 'eu-west-1';
  if (!REGION_RE.test(region)) problems.push(`--region: '${region}' is not an AWS region; expected e.g. 'eu-west-1'`);

  let defaultAccount = DEFAULT_ACCOUNT;
  const accounts = new Map<string, string>();
  for (const a of values.account ?? []) {
    const m = /^(?:([a-z0-9-]+)=)?(.*)$/.exec(a)!;
    if (!/^\d{12}$/.test(m[2])) {
      problems.push(`--account: '${a}' is not an account id; expected 12 digits, or <env>=<12 digits>`);
    } else if (m[1] === undefined) {
      defaultAccount = m[2];
    } else if (!envNames.includes(m[1])) {
      problems.push(`--account: '${m[1]}' is not an environment; expected one of ${envNames.join(', ')}`);
    } else {
      accounts.set(m[1], m[2]);
    }
  }
  const models = values.model?.length ? values.model : ['breast-cancer'];
  for (const m of models) {
    if (!TRAIN_MODEL_NAME_PATTERN.test(m)) problems.push(`--model: '${m}' is not a model name; expected lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 63 characters`);
  }
  if (new Set(models).size !== models.length) problems.push(`--model: '${models.join(', ')}' names a model twice`);
  const repositoryUrl = values.repository ?? `https://github.com/example-org/${name}.git`;
  if (!/^(https:\/\/|ssh:\/\/|git@)\S+$/.test(repositoryUrl)) problems.push(`--repository: '${repositoryUrl}' is not a Git URL; expected https://..., ssh://... or git@host:org/repo.git`);
  const codeOwners = (values.owners ?? '@example-org/ml-platform').split(',').map((o) => o.trim()).filter((o) => o !== '');
  if (codeOwners.length === 0) problems.push(`--owners: '${values.owners}' names no owner; expected '@org/team' or '@user', comma-separated`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const version = values.cdkMlopsVersion ?? `^${(require(path.join(__dirname, '..', '..', '..', 'package.json')) as { version: string }).version}`;
  if (!/^\S+$/.test(version)) problems.push(`--cdk-mlops-version: '${version}' is not a version spec; expected e.g. ^0.1.0, 0.1.0 or file:../cdk-mlops-0.1.0.tgz`);
  if (problems.length) throw new Error(`invalid options:\n  - ${problems.join('\n  - ')}`);
  return {
    platformName: name,
    environments: envNames.map((e, i) => environmentDefaults(e, i, envNames.length, accounts.get(e) ?? defaultAccount, region)),
    models,
    repositoryUrl,
    codeOwners,
    cdkMlopsVersion: version,
  };
}

/** A TypeScript literal of a JSON-like value, single-quoted strings, on one line. */
function tsLiteral(v: unknown): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(tsLiteral).join(', ')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    return `{ ${entries.map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : tsLiteral(k)}: ${tsLiteral(x)}`).join(', ')} }`;
  }
  return String(v);
}

function environmentsLiteral(envs: readonly TemplateEnvironment[]): string {
  return envs.map((e) => [
    '  {',
    ...Object.entries(e).map(([k, v]) => `    ${k}: ${tsLiteral(v)},`),
    '  },',
  ].join('\n')).join('\n');
}

/** Replaces each `{{key}}` of a template; an unknown key is an error (a template bug). */
export function renderTemplate(text: string, vars: Readonly<Record<string, string>>, source: string): string {
  return text.replace(/\{\{([A-Za-z]+)\}\}/g, (_m, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new Error(`template ${source} uses {{${key}}}, which init does not define`);
    return v;
  });
}

/** Template files, relative paths, sorted. */
function templateFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareStrings(a.name, b.name))) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) out.push(...templateFiles(path.join(dir, e.name), `${rel}/`));
    else out.push(rel);
  }
  return out;
}

/**
 * The settings `init` writes to pins.json for every environment: the endpoints' replica bounds,
 * read by templates/gitops/src/app.ts with `pins.numberSetting(...)`.
 */
export const ENDPOINT_REPLICA_SETTINGS = { minReplicas: 2, maxReplicas: 10 } as const;

/**
 * The files `init` writes itself (the projen project writes the rest), by relative path. Pure:
 * the same options give the same map.
 */
export function templateOutput(o: InitOptions): Record<string, string> {
  const envs = o.environments;
  const vars: Record<string, string> = {
    platformName: tsLiteral(o.platformName),
    repositoryUrl: tsLiteral(o.repositoryUrl),
    codeOwners: tsLiteral(o.codeOwners),
    cdkMlopsVersion: tsLiteral(o.cdkMlopsVersion),
    environments: environmentsLiteral(envs),
    models: `${tsLiteral(o.models)} as const`,
    environmentNames: envs.map((e) => `\`${e.name}\``).join(', '),
    firstModel: o.models[0],
    firstEnvironment: envs[0].name,
    secondEnvironment: envs[Math.min(1, envs.length - 1)].name,
    firstEnvironmentVariable: envs[0].name.toUpperCase().replace(/-/g, '_'),
  };
  const files: Record<string, string> = {};
  for (const rel of templateFiles(TEMPLATE_DIR)) {
    const text = fs.readFileSync(path.join(TEMPLATE_DIR, rel), 'utf8');
    // The README is markdown: the platform name goes in as it is, not as a TypeScript string.
    files[rel] = renderTemplate(text, rel.endsWith('.md') ? { ...vars, platformName: o.platformName } : vars, rel);
  }
  const pins: Record<string, Record<string, number>> = {};
  for (const m of o.models) pins[m] = Object.fromEntries(envs.map((e) => [e.name, 1]));
  for (const e of envs) {
    if (!PIN_TARGET_PATTERN.test(e.name)) throw new Error(`environment '${e.name}' cannot be a pin target`);
  }
  // Per-environment settings the program reads (pins.setting), promoted with the versions.
  const settings = Object.fromEntries(envs.map((e) => [e.name, { ...ENDPOINT_REPLICA_SETTINGS }]));
  files['pins.json'] = formatPins({ schemaVersion: 1, models: pins, settings });
  return files;
}

function writeFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(file)) fs.chmodSync(file, 0o644);
  fs.writeFileSync(file, content);
  fs.chmodSync(file, 0o644);
}

/**
 * Writes the repository into `dir`: the template files, then the projen project's files
 * (synthesized in this process, with the options `.projenrc.ts` passes, and without projen's
 * post-synthesis npm install). Returns the files written, sorted.
 */
export function writeRepository(dir: string, o: InitOptions): string[] {
  // Loaded here: projen is an optional peer dependency, needed by init only.
  let projenModule: typeof import('../../projen');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    projenModule = require('../../projen') as typeof import('../../projen');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /'projen'/.test((e as Error).message)) {
      throw new InputError('projen', "is not installed; init needs it (an optional peer dependency of cdk-mlops): run it as 'npx -p projen -p cdk-mlops cdk-mlops init <dir>'");
    }
    throw e;
  }
  const files = templateOutput(o);
  const root = path.resolve(dir);
  for (const rel of Object.keys(files).sort()) writeFile(path.join(root, rel), files[rel]);

  const previous = process.env.PROJEN_DISABLE_POST;
  process.env.PROJEN_DISABLE_POST = 'true';
  try {
    const project = new projenModule.MlopsGitOpsProject({
      outdir: root,
      platformName: o.platformName,
      environments: o.environments,
      repositoryUrl: o.repositoryUrl,
      codeOwners: o.codeOwners,
      cdkMlopsVersion: o.cdkMlopsVersion,
      // the same add-ons as templates/gitops/.projenrc.ts
      addons: [
        projenModule.ClusterAddon.kubePrometheusStack(), projenModule.ClusterAddon.gatewayApiCrds(),
        projenModule.ClusterAddon.karpenter(), projenModule.ClusterAddon.kueue(),
      ],
    });
    project.synth();
  } finally {
    if (previous === undefined) delete process.env.PROJEN_DISABLE_POST;
    else process.env.PROJEN_DISABLE_POST = previous;
  }
  return listFiles(root);
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === '.git') continue;
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), `${rel}/`));
    else out.push(rel);
  }
  return out.sort();
}

function runStep(dir: string, command: string, args: string[]): void {
  process.stdout.write(`\n$ ${[command, ...args].join(' ')}\n`);
  const r = spawnSync(command, args, { cwd: dir, stdio: 'inherit', env: process.env });
  if (r.error) throw new Error(`'${command} ${args.join(' ')}' could not start in ${dir}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`'${command} ${args.join(' ')}' failed in ${dir} (exit ${r.status}); the repository is written, fix the cause and run it again`);
}

/** `cdk-mlops init`. */
export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        'name': { type: 'string' },
        'environments': { type: 'string' },
        'account': { type: 'string', multiple: true },
        'region': { type: 'string' },
        'model': { type: 'string', multiple: true },
        'repository': { type: 'string' },
        'owners': { type: 'string' },
        'cdk-mlops-version': { type: 'string' },
        'force': { type: 'boolean' },
        'install': { type: 'boolean' },
        'help': { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length !== 1) {
      throw new InputError('<dir>', positionals.length === 0 ? 'is missing; expected the folder to create the repository in' : `got ${positionals.length} (${positionals.join(' ')}); expected one folder`);
    }
    const dir = path.resolve(positionals[0]);
    const options = resolveInitOptions({ ...values, cdkMlopsVersion: values['cdk-mlops-version'] }, dir);
    if (fs.existsSync(dir)) {
      if (!fs.statSync(dir).isDirectory()) throw new InputError('<dir>', `'${dir}' is a file; expected a new or empty folder`);
      const entries = fs.readdirSync(dir).filter((e) => e !== '.git');
      if (entries.length > 0 && !values.force) {
        throw new InputError('<dir>', `'${dir}' is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}); expected a new or empty folder, or --force to write into it`);
      }
    }
    const written = writeRepository(dir, options);
    const where = path.relative(process.cwd(), dir) || '.';
    process.stdout.write(`Wrote ${written.length} files to ${where}/ (platform '${options.platformName}', environments ${options.environments.map((e) => e.name).join(', ')}).\n`);
    const placeholders = [
      ...(values.account === undefined ? [`AWS accounts (${DEFAULT_ACCOUNT}) in src/environments.ts`] : []),
      ...(values.repository === undefined ? [`repositoryUrl (${options.repositoryUrl}) in .projenrc.ts`] : []),
      ...(values.owners === undefined ? [`codeOwners (${options.codeOwners.join(', ')}) in .projenrc.ts`] : []),
    ];
    if (placeholders.length) process.stdout.write(`Replace the example values: ${placeholders.join('; ')}.\n`);
    if (values.install) {
      runStep(dir, 'npm', ['install', '--no-audit', '--no-fund']);
      runStep(dir, 'npx', ['projen']);
      runStep(dir, 'npx', ['projen', 'synth']);
      process.stdout.write('\nReady: review dist/, then commit everything (git init && git add -A && git commit) and push.\n');
    } else {
      process.stdout.write(`Next: cd ${where} && npm install && npx projen build (synthesizes dist/ and runs the tests), then commit everything.\n`);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`cdk-mlops init: ${(e as Error).message}\n`);
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write('Run `cdk-mlops init --help` for the options.\n');
    return 2;
  }
}

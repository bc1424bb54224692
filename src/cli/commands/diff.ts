import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  DETAIL_LEVELS, DetailLevel, DistDiff, DistFiles, diffDist, gitLocation, readDistAtRef, readDistDir,
  renderJson, renderMarkdown, renderText, resolveCommit,
} from '../../diff';
import { InputError } from '../../runtime/errors';

/** One-line description shown by `cdk-mlops --help`. */
export const summary = 'show what a change to the platform changes, per environment and plane (exit 1 when anything does)';

const FORMATS = ['text', 'markdown', 'json'] as const;
type Format = (typeof FORMATS)[number];

const USAGE = `usage: cdk-mlops diff [options]

Compares two synthesized dist/ trees, per environment, per plane (Terraform, Kubernetes,
inventory), per resource, with field-level changes. Sensitive values (Secret data, Terraform
values marked sensitive, passwords, tokens, keys) are never printed.

By default the base is the dist/ committed at HEAD (read with git, nothing is checked out)
and the head is the working tree's dist/.

options:
  --base <ref>          git branch, tag or commit whose committed dist/ is the base (default HEAD)
  --base-dir <dir>      compare with this folder instead of a git ref
  --base-path <path>    where the dist folder is in the repository at --base
                        (default: the head folder's path in its repository)
  --head <dir>          the dist folder to compare (default dist)
  --synth               run \`cdk-mlops synth\` first, to bring the head folder up to date
  --app <file>          the platform program for --synth (implies --synth)
  --format <f>          text | markdown | json (default text)
  --detail <d>          full | fields | resources | summary (default full)
  --env <name>          only this environment (repeatable)
  --out <file>          write the diff to this file; the summary lines go to stdout
  --color, --no-color   colour the text format (default: when stdout is a terminal and NO_COLOR is unset)
  -h, --help            show this help

exit status: 0 no change, 1 changes, 2 error (like \`flux diff\`).
`;

interface Options {
  readonly base?: string;
  readonly baseDir?: string;
  readonly basePath?: string;
  readonly head: string;
  readonly headGiven: boolean;
  readonly synth: boolean;
  readonly app?: string;
  readonly format: Format;
  readonly detail: DetailLevel;
  readonly envs?: string[];
  readonly out?: string;
  readonly color?: boolean;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      'base': { type: 'string' },
      'base-dir': { type: 'string' },
      'base-path': { type: 'string' },
      'head': { type: 'string' },
      'synth': { type: 'boolean' },
      'app': { type: 'string' },
      'format': { type: 'string' },
      'detail': { type: 'string' },
      'env': { type: 'string', multiple: true },
      'out': { type: 'string' },
      'color': { type: 'boolean' },
      'no-color': { type: 'boolean' },
      'help': { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) return 'help';
  const format = (values.format ?? 'text') as Format;
  if (!FORMATS.includes(format)) throw new InputError('--format', `'${values.format}' is not a format; expected one of ${FORMATS.join(', ')}`);
  const detail = (values.detail ?? 'full') as DetailLevel;
  if (!DETAIL_LEVELS.includes(detail)) throw new InputError('--detail', `'${values.detail}' is not a detail level; expected one of ${DETAIL_LEVELS.join(', ')}`);
  if (values.base !== undefined && values['base-dir'] !== undefined) {
    throw new InputError('--base-dir', 'cannot be combined with --base; expected one base: a git ref or a folder');
  }
  if (values['base-path'] !== undefined && values['base-dir'] !== undefined) {
    throw new InputError('--base-path', 'applies to a git ref base, not to --base-dir');
  }
  if (values.color && values['no-color']) throw new InputError('--color', 'cannot be combined with --no-color');
  for (const [name, v] of [['--base', values.base], ['--base-dir', values['base-dir']], ['--head', values.head], ['--app', values.app], ['--out', values.out]] as const) {
    if (v === '') throw new InputError(name, 'is empty; expected a value');
  }
  return {
    base: values.base,
    baseDir: values['base-dir'],
    basePath: values['base-path'],
    head: values.head ?? 'dist',
    headGiven: values.head !== undefined,
    synth: Boolean(values.synth || values.app),
    app: values.app,
    format,
    detail,
    envs: values.env,
    out: values.out,
    color: values.color ? true : values['no-color'] ? false : undefined,
  };
}

/** Runs `cdk-mlops synth` in process, its stdout sent to stderr so that it never mixes with the diff. */
async function runSynth(opts: Options): Promise<void> {
  // Loaded here: the CLI dispatcher loads this module, and only --synth needs the constructs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cli = require('../main') as typeof import('../main');
  if (!cli.listCommands().includes('synth')) throw new InputError('--synth', 'the synth command is not available in this build of cdk-mlops');
  const args = [...(opts.app ? ['--app', opts.app] : []), ...(opts.headGiven ? ['--out', opts.head] : []), '--quiet'];
  const write = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  let code: number;
  try {
    code = await cli.main(['synth', ...args]);
  } finally {
    process.stdout.write = write;
  }
  if (code !== 0) throw new Error(`cdk-mlops synth ${args.join(' ')} failed (exit ${code}); the diff was not computed`);
}

function readBase(opts: Options): { files: DistFiles; label: string } {
  if (opts.baseDir !== undefined) return { files: readDistDir(opts.baseDir), label: opts.baseDir };
  const ref = opts.base ?? 'HEAD';
  // With --base-path the repository is the one of the current folder (the head may be anywhere).
  const loc = gitLocation(opts.basePath !== undefined ? '.' : opts.head);
  const distPath = opts.basePath !== undefined ? opts.basePath.replace(/^\.\/+/, '').replace(/\/+$/, '') : loc.path;
  const sha = resolveCommit(loc.repoRoot, ref);
  return {
    files: readDistAtRef({ repoRoot: loc.repoRoot, ref: sha, path: distPath }),
    label: `${ref}:${distPath || '.'} (${sha.slice(0, 7)})`,
  };
}

function render(diff: DistDiff, opts: Options, color: boolean): string {
  switch (opts.format) {
    case 'json':
      return renderJson(diff);
    case 'markdown':
      return renderMarkdown(diff, { detail: opts.detail });
    case 'text':
      return renderText(diff, { detail: opts.detail, color });
  }
}

/** Writes `text` to `file` through a temporary file and a rename: never half-written. */
function writeAtomic(file: string, text: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new InputError('--out', `'${file}': the folder ${dir} does not exist; expected a file in an existing folder`);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * `cdk-mlops diff`: prints the diff between the base and the head dist trees.
 * @returns 0 when nothing changed, 1 when something did, 2 on error
 */
export async function run(argv: string[]): Promise<number> {
  try {
    const opts = parse(argv);
    if (opts === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (opts.synth) await runSynth(opts);
    const base = readBase(opts);
    const headFiles = readDistDir(opts.head);
    const diff = diffDist(base.files, headFiles, {
      baseLabel: base.label,
      headLabel: opts.headGiven ? opts.head : `${opts.head} (working tree)`,
      ...(opts.envs ? { environments: opts.envs } : {}),
    });
    if (opts.envs) {
      const known = new Set(diff.environments.map((e) => e.name));
      const unknown = opts.envs.filter((e) => !known.has(e));
      if (unknown.length > 0) {
        throw new InputError('--env', `'${unknown.join("', '")}' is in neither tree; expected an environment folder of ${base.label} or ${opts.head}`);
      }
    }
    const color = opts.color ?? (opts.format === 'text' && opts.out === undefined && process.stdout.isTTY === true && !process.env.NO_COLOR);
    const text = render(diff, opts, color);
    if (opts.out !== undefined) {
      writeAtomic(opts.out, text);
      process.stdout.write(`${diff.environments.map((e) => e.summary).join('\n')}\n`);
    } else {
      process.stdout.write(text);
    }
    return diff.changed ? 1 : 0;
  } catch (e) {
    process.stderr.write(`cdk-mlops diff: ${(e as Error).message}\n`);
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write('Run `cdk-mlops diff --help` for the options.\n');
    return 2;
  }
}

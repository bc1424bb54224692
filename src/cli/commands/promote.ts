import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PINS_FILE, promotePinsFile } from '../../promote/pins';
import { InputError } from '../../runtime/errors';

/** One-line description shown by `cdk-mlops --help`. */
export const summary = 'pin a model version (and copy an environment\'s settings) for an environment in pins.json (a reviewable change; rollback is a revert)';

const USAGE = `usage: cdk-mlops promote <model> --to <target> (--version <n> | --from <target>) [options]
       cdk-mlops promote --from <target> --to <target> [options]

Edits the pins file the platform program reads: replaces exactly the version pinned for
<model> at <target> and, with --from, the settings of <target> ("settings" of the pins file)
that differ from those of the --from target, and nothing else, so that the promotion is a
small pull request. Roll back by reverting that commit.

  <model>            a model of the pins file ("models" keys); with --from it may be left
                     out: every model pinned for both targets is promoted
  --to <target>      the environment (or other pinned target, e.g. prod-canary) to change
  --version <n>      the registry version to pin
  --from <target>    copy the version pinned for this target (with --version: check it is that
                     one) and its settings (both targets must have the same setting names)
  --versions-only    with --from: copy the model version(s) only, not the settings
  --pins <file>      the pins file (default: "pins" of cdk-mlops.json, else ${DEFAULT_PINS_FILE})
  -h, --help         show this help

Then run \`npx projen synth\` (or \`cdk-mlops synth\`) so that dist/ follows, and open the pull request.
exit status: 0 done (or already pinned), 2 error.`;

/** The pins file: --pins, the "pins" of cdk-mlops.json, or pins.json. */
export function resolvePinsFile(cwd: string, pins: string | undefined): string {
  if (pins !== undefined) return path.resolve(cwd, pins);
  const cfg = path.join(cwd, 'cdk-mlops.json');
  if (fs.existsSync(cfg)) {
    let parsed: { pins?: unknown };
    try {
      parsed = JSON.parse(fs.readFileSync(cfg, 'utf8')) as { pins?: unknown };
    } catch (e) {
      throw new InputError(cfg, `is not valid JSON (${(e as Error).message})`);
    }
    if (parsed.pins !== undefined) {
      if (typeof parsed.pins !== 'string' || parsed.pins === '') throw new InputError(`${cfg}: pins`, `${JSON.stringify(parsed.pins)} is not a path; expected the pins file, relative to ${cwd}`);
      return path.resolve(cwd, parsed.pins);
    }
  }
  return path.resolve(cwd, DEFAULT_PINS_FILE);
}

function parseVersion(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(v)) throw new InputError('--version', `'${v}' is not a version number; expected a whole number >= 1`);
  return Number(v);
}

/** `cdk-mlops promote`: returns 0 when the pin is set (changed or already so), 2 on error. */
export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        'to': { type: 'string' },
        'version': { type: 'string' },
        'from': { type: 'string' },
        'versions-only': { type: 'boolean' },
        'pins': { type: 'string' },
        'help': { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length > 1 || (positionals.length === 0 && values.from === undefined)) {
      throw new InputError('<model>', positionals.length === 0 ? 'is missing; expected the name of a pinned model' : `got ${positionals.length} (${positionals.join(' ')}); expected exactly one model`);
    }
    if (values['versions-only'] && values.from === undefined) throw new InputError('--versions-only', 'needs --from; without --from only a version is pinned');
    if (values.to === undefined || values.to === '') throw new InputError('--to', 'is missing; expected the environment (or pinned target) to change');
    const cwd = process.cwd();
    const file = resolvePinsFile(cwd, values.pins);
    const rel = path.relative(cwd, file) || file;
    const result = promotePinsFile(file, { model: positionals[0], to: values.to, from: values.from, version: parseVersion(values.version), versionsOnly: values['versions-only'] }, rel);
    for (const change of result.changes) {
      if (change.from !== change.to) {
        const source = values.from ? ` (the version '${values.from}' serves)` : '';
        process.stdout.write(`${rel}: models.${change.model}.${change.target} ${change.from} -> ${change.to}${source}\n`);
      } else {
        process.stdout.write(`${rel}: models.${change.model}.${change.target} is already ${change.to}; nothing changed\n`);
      }
    }
    for (const s of result.settingChanges) {
      process.stdout.write(`${rel}: settings.${s.target}.${s.name} ${JSON.stringify(s.from)} -> ${JSON.stringify(s.to)} (as '${values.from}')\n`);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`cdk-mlops promote: ${(e as Error).message}\n`);
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write('Run `cdk-mlops promote --help` for the options.\n');
    return 2;
  }
}

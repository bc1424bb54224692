import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The `cdk-mlops` command. Each sub-command lives in `./commands/<name>.ts` and exports
 * `run(argv: string[]): Promise<number>` (the exit code) and a one-line `summary`.
 * Commands are loaded on demand, so `cdk-mlops serve` never loads the construct libraries.
 */
export interface CommandModule {
  readonly summary: string;
  run(argv: string[]): Promise<number>;
}

function commandsDir(): string {
  return path.join(__dirname, 'commands');
}

/** Names of the available sub-commands, sorted. */
export function listCommands(): string[] {
  const dir = commandsDir();
  return fs.readdirSync(dir)
    .filter((f) => /^[a-z-]+\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.(js|ts)$/, ''))
    .filter((v, i, a) => a.indexOf(v) === i)
    .sort();
}

function loadCommand(name: string): CommandModule | undefined {
  if (!/^[a-z-]+$/.test(name) || !listCommands().includes(name)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(commandsDir(), name)) as CommandModule;
}

function usage(): string {
  const lines = ['usage: cdk-mlops <command> [options]', '', 'commands:'];
  for (const name of listCommands()) {
    const mod = loadCommand(name);
    lines.push(`  ${name.padEnd(10)} ${mod?.summary ?? ''}`);
  }
  lines.push('', 'Run `cdk-mlops <command> --help` for the options of a command.');
  return lines.join('\n');
}

/** Entry point: returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    process.stdout.write(`${require('../../package.json').version}\n`);
    return 0;
  }
  const mod = loadCommand(name);
  if (!mod) {
    process.stderr.write(`cdk-mlops: unknown command '${name}'; expected one of: ${listCommands().join(', ')}\n`);
    return 2;
  }
  return mod.run(rest);
}

import * as path from 'node:path';
import { synthApp } from '../cli/commands/synth';
import type { PlatformSynthesis } from '../constructs/app';
import { PinLookup, pinsHooks } from '../promote/pins';

/** What one synthesis of the program gave. */
export interface ProgramSynthesis {
  readonly results: readonly PlatformSynthesis[];
  /** The pins the program read from pins files during this synthesis. */
  readonly pins: readonly PinLookup[];
}

/**
 * The platform program, synthesized in this process (as `cdk-mlops synth` does), as often as
 * needed: a later synthesis runs the program again with its own modules reloaded (the files
 * under its directory, not its dependencies), for instance with a pins file replaced to
 * synthesize a promotion.
 */
export class PlatformProgram {
  private runs = 0;

  constructor(public readonly appFile: string, public readonly outdir: string) {}

  /** Runs the program; `pinsOverrides` replaces pins files' text (absolute path -> text) for this run. */
  public synth(pinsOverrides: ReadonlyMap<string, string> = new Map()): ProgramSynthesis {
    if (this.runs > 0) this.forgetProgramModules();
    this.runs += 1;
    const hooks = pinsHooks();
    const before = hooks.lookups.length;
    const saved = new Map(hooks.overrides);
    for (const [file, text] of pinsOverrides) hooks.overrides.set(path.resolve(file), text);
    try {
      const results = synthApp(this.appFile, this.outdir);
      return { results, pins: hooks.lookups.slice(before) };
    } finally {
      hooks.overrides.clear();
      for (const [k, v] of saved) hooks.overrides.set(k, v);
      hooks.lookups.splice(before);
    }
  }

  /** Drops the program's own modules from the require cache, so that requiring it runs it again. */
  private forgetProgramModules(): void {
    const dir = path.dirname(path.resolve(this.appFile)) + path.sep;
    const ownPackage = path.resolve(__dirname, '..', '..') + path.sep;
    const library = [path.join(ownPackage, 'src') + path.sep, path.join(ownPackage, 'lib') + path.sep];
    for (const key of Object.keys(require.cache)) {
      if (!key.startsWith(dir) || key.includes(`${path.sep}node_modules${path.sep}`)) continue;
      if (library.some((l) => key.startsWith(l))) continue;
      delete require.cache[key];
    }
  }
}

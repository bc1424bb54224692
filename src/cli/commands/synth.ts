import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { MlApp, PlatformSynthesis } from '../../constructs/app';

export const summary = 'synthesize the platform program into dist/<env>/{terraform,k8s,platform.json}';

const USAGE = `usage: cdk-mlops synth [--app <file>] [--out <dir>] [--quiet]

Runs the platform program in process and writes, per environment:
  <out>/<env>/terraform/cdk.tf.json   Terraform JSON (terraform or tofu applies it in that folder)
  <out>/<env>/k8s/<chart>.yaml        Kubernetes manifests, one file per chart
  <out>/<env>/platform.json           inventory of what the platform holds

  --app <file>   the program (.ts or .js)   default: "app" of cdk-mlops.json, else src/main.ts
  --out <dir>    output folder              default: dist
  --quiet        print nothing but errors`;

/** Finds the program to run: --app, cdk-mlops.json's "app", or src/main.ts. */
export function resolveApp(cwd: string, app: string | undefined): string {
  if (app) return path.resolve(cwd, app);
  const cfg = path.join(cwd, 'cdk-mlops.json');
  if (fs.existsSync(cfg)) {
    const parsed = JSON.parse(fs.readFileSync(cfg, 'utf8')) as { app?: unknown };
    if (typeof parsed.app === 'string') return path.resolve(cwd, parsed.app);
  }
  return path.resolve(cwd, 'src/main.ts');
}

function registerTypeScript(appFile: string): void {
  if (!appFile.endsWith('.ts')) return;
  // Registered already (by bin/cdk-mlops on a checkout without lib/, or by an earlier synthesis
  // in this process, as `cdk-mlops up` does): a second registration would compile twice.
  if ((process as unknown as Record<symbol, unknown>)[Symbol.for('ts-node.register.instance')]) return;
  const paths = [path.dirname(appFile), process.cwd(), __dirname];
  let tsNode: string;
  try {
    tsNode = require.resolve('ts-node', { paths });
  } catch {
    throw new Error(`'${appFile}' is TypeScript and ts-node is not installed: run 'npm install --save-dev ts-node typescript' or compile the program to JavaScript`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require(tsNode) as { register(o: object): void }).register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
}

/**
 * Lets a program `import ... from 'cdk-mlops'` when it is not installed next to it (the
 * examples of this repository, a program run with a globally installed CLI): the name then
 * resolves to the package this CLI belongs to, so the program and the CLI share one copy.
 */
function resolveSelf(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Module = require('node:module') as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = Module._resolveFilename;
  if ((original as unknown as { cdkMlopsSelf?: boolean }).cdkMlopsSelf) return;
  const packageRoot = path.resolve(__dirname, '..', '..', '..');
  const compiled = fs.existsSync(path.join(packageRoot, 'lib', 'index.js'));
  const patched = function (this: unknown, request: string, ...rest: unknown[]): string {
    try {
      return original.call(this, request, ...rest);
    } catch (e) {
      if (request !== 'cdk-mlops' && !request.startsWith('cdk-mlops/')) throw e;
      const sub = request === 'cdk-mlops' ? (compiled ? 'lib/index.js' : 'src/index.ts') : request.slice('cdk-mlops/'.length);
      return original.call(this, path.join(packageRoot, sub), ...rest);
    }
  };
  (patched as unknown as { cdkMlopsSelf: boolean }).cdkMlopsSelf = true;
  Module._resolveFilename = patched;
}

/**
 * Runs a platform program in this process and returns what it synthesized (also writing it
 * under `outdir`).
 */
export function synthApp(appFile: string, outdir: string): PlatformSynthesis[] {
  if (!fs.existsSync(appFile)) throw new Error(`the platform program '${appFile}' does not exist (pass --app <file>)`);
  process.env.CDK_MLOPS_OUTDIR = outdir;
  registerTypeScript(appFile);
  resolveSelf();
  const appsKey = Symbol.for('cdk-mlops.apps');
  const registry = ((globalThis as Record<symbol, unknown>)[appsKey] ??= []) as MlApp[];
  const before = registry.length;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(appFile);
  const created = registry.slice(before);
  if (created.length === 0) throw new Error(`'${appFile}' created no MlApp: create one with 'new MlApp()' and add an MlPlatform to it`);
  const results: PlatformSynthesis[] = [];
  for (const app of created) {
    if (!app._lastSynthesis) app.synth();
    results.push(...app._lastSynthesis!);
  }
  if (results.length === 0) throw new Error(`'${appFile}' defines no MlPlatform`);
  return results;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { app: { type: 'string' }, out: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const cwd = process.cwd();
  const appFile = resolveApp(cwd, values.app);
  const outdir = path.resolve(cwd, values.out ?? 'dist');
  const started = process.hrtime.bigint();
  const results = synthApp(appFile, outdir);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (!values.quiet) {
    const lines = [`Synthesized ${path.relative(cwd, appFile) || appFile} in ${(ms / 1000).toFixed(1)} s:`];
    for (const r of results) {
      const tf = r.inventory.terraform as { total: number };
      const k8s = r.inventory.kubernetes as { total: number };
      const files = Object.keys(r.kubernetes).length;
      const where = path.relative(cwd, path.join(outdir, r.environment)) || '.';
      lines.push(`  ${r.environment.padEnd(10)} ${String(tf.total).padStart(4)} Terraform resources  ${String(k8s.total).padStart(4)} Kubernetes objects in ${files} file(s)  -> ${where}/`);
      for (const s of r.suppressed) lines.push(`             policy ${s.ruleId} suppressed on ${s.target}: ${s.reason}`);
    }
    lines.push('Apply the cloud plane with `terraform -chdir=<dir>/terraform init && terraform -chdir=<dir>/terraform apply` (or tofu); commit <dir>/k8s for Argo CD.');
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return 0;
}

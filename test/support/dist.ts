import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, e.name);
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Every Kubernetes object in `<envDir>/k8s/*.yaml`, in file order. */
export function readKubeObjects(envDir: string): { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string } }[] {
  const k8sDir = path.join(envDir, 'k8s');
  return fs.readdirSync(k8sDir).sort().flatMap((f) =>
    YAML.parseAllDocuments(fs.readFileSync(path.join(k8sDir, f), 'utf8')).map((d) => d.toJSON()).filter((d) => d !== null));
}

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The compiled CLI, or a clear failure telling how to build it. */
export function cliPath(): string {
  const compiled = path.join(REPO_ROOT, 'lib', 'cli', 'main.js');
  if (!fs.existsSync(compiled)) throw new Error(`${compiled} is missing: run 'npx projen compile' (npm test does it first)`);
  return path.join(REPO_ROOT, 'bin', 'cdk-mlops');
}

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { MlopsGitOpsProject, MlopsGitOpsProjectOptions } from '../../src/projen';
import type { GitOpsEnvironment } from '../../src/projen';

export const ENVIRONMENTS: GitOpsEnvironment[] = [
  { name: 'dev', account: '111111111111', region: 'eu-west-1' },
  { name: 'staging', account: '222222222222', region: 'eu-west-1' },
  { name: 'prod', account: '333333333333', region: 'eu-central-1', prune: false },
];

export const BASE_OPTIONS: MlopsGitOpsProjectOptions = {
  platformName: 'acme-ml',
  environments: ENVIRONMENTS,
  repositoryUrl: 'https://github.com/acme/ml-platform.git',
  codeOwners: ['@acme/ml-platform'],
  modelOwners: ['@acme/data-science'],
  cdkMlopsVersion: '^0.1.0',
};

/** Synthesizes the project type into a new temporary folder (projen's npm install disabled). */
export function synthProject(options: Partial<MlopsGitOpsProjectOptions> = {}): { dir: string; project: MlopsGitOpsProject } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gitops-project-'));
  const previous = process.env.PROJEN_DISABLE_POST;
  process.env.PROJEN_DISABLE_POST = 'true';
  try {
    const project = new MlopsGitOpsProject({ ...BASE_OPTIONS, ...options, outdir: dir });
    project.synth();
    return { dir, project };
  } finally {
    if (previous === undefined) delete process.env.PROJEN_DISABLE_POST;
    else process.env.PROJEN_DISABLE_POST = previous;
  }
}

/** Every file under dir (relative path -> content), skipping node_modules and .git. */
export function readTree(dir: string, prefix = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === '.git') continue;
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) Object.assign(out, readTree(path.join(dir, e.name), `${rel}/`));
    else out[rel] = fs.readFileSync(path.join(dir, e.name));
  }
  return out;
}

/** The YAML documents of a file. */
export function yamlDocs(file: string): Record<string, any>[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Record<string, any>;
  });
}

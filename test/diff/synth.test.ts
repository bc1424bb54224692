import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../../src/cli/commands/diff';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-diff-synth-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { out.push(String(c)); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { err.push(String(c)); return true; });
  try {
    return { code: await run(args), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** A platform program (dev only) with a node pool of `maxSize` nodes. */
function program(name: string, maxSize: number): string {
  const file = path.join(tmp, `${name}.ts`);
  fs.writeFileSync(file, `import { Cluster, MlApp, MlPlatform, Network } from '${path.join(REPO_ROOT, 'src').replace(/\\/g, '/')}';
const app = new MlApp();
new MlPlatform(app, 'dev', {
  platformName: 'acme-ml', environment: 'dev', region: 'eu-west-1', account: '123456789012',
  network: Network.create({ cidr: '10.10.0.0/16', availabilityZones: 2, natGateways: 1 }),
  cluster: Cluster.create({ systemNodes: { instanceTypes: ['m7i.large'], minSize: 2, maxSize: ${maxSize} } }),
});
app.synth();
`);
  return file;
}

describe('cdk-mlops diff --synth (real synthesized output)', () => {
  test('synthesizes the head, then shows the node pool change field by field', async () => {
    const base = path.join(tmp, 'base');
    const head = path.join(tmp, 'head');
    expect((await cli(['--app', program('base', 3), '--head', base, '--base-dir', base])).code).toBe(0);
    const r = await cli(['--app', program('head', 5), '--head', head, '--base-dir', base, '--format', 'json']);
    expect(r.code).toBe(1);
    const diff = JSON.parse(r.stdout);
    const dev = diff.environments.find((e: { name: string }) => e.name === 'dev');
    expect(dev.summary).toMatch(/^dev: terraform 0 to add, 1 to change, 0 to destroy; kubernetes 0 added, 0 changed, 0 removed; inventory/);
    const tf = dev.planes.find((p: { plane: string }) => p.plane === 'terraform');
    expect(tf.resources).toHaveLength(1);
    expect(tf.resources[0].type).toBe('resource:aws_eks_node_group');
    expect(tf.resources[0].changes).toContainEqual(expect.objectContaining({ path: 'scaling_config.max_size', action: 'change', before: 3, after: 5 }));
  });
});

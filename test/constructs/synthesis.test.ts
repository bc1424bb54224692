import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkKubernetes, checkTerraform } from '../../src';
import { findPodSpecs } from '../../src/constructs/policy/rules';
import { registerCrdValidators } from '../fixtures/crds/validators';
import { cliPath, listFiles, readKubeObjects, REPO_ROOT } from '../support/dist';
import '../support/gateway-api-schema';
import { validateAll, validateObject } from '../support/kube-schema';

registerCrdValidators();

/** Every example program: examples/*.ts, and examples/<name>/main.ts. */
const EXAMPLES = fs.readdirSync(path.join(REPO_ROOT, 'examples'), { withFileTypes: true }).flatMap((e) => {
  if (e.isFile() && e.name.endsWith('.ts')) return [path.join(REPO_ROOT, 'examples', e.name)];
  const main = path.join(REPO_ROOT, 'examples', e.name, 'main.ts');
  return e.isDirectory() && fs.existsSync(main) ? [main] : [];
}).sort();

function synthInto(app: string, cwd: string, out: string): void {
  const r = spawnSync(process.execPath, [cliPath(), 'synth', '--app', app, '--out', out, '--quiet'], { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`synth of ${app} failed (${r.status}): ${r.stderr}`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'synthesis-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the examples include the showcase, whose program fits in 150 lines', () => {
  expect(EXAMPLES.map((e) => path.relative(REPO_ROOT, e))).toEqual(['examples/basic-platform.ts', 'examples/breast-cancer/main.ts']);
  expect(fs.readFileSync(path.join(REPO_ROOT, 'examples', 'breast-cancer', 'main.ts'), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(150);
});

let podSpecsSeen = 0;
afterAll(() => {
  // The pod checks above must have had pods to check (the showcase has every capability).
  expect(podSpecsSeen).toBeGreaterThan(5);
});

describe.each(EXAMPLES.map((e) => [path.relative(path.join(REPO_ROOT, 'examples'), e), e]))('example %s', (_name, example) => {
  const dirA = fs.mkdtempSync(path.join(tmp, 'a-'));
  const dirB = fs.mkdtempSync(path.join(tmp, 'b-'));
  let envs: string[] = [];

  beforeAll(() => {
    synthInto(example, dirA, path.join(dirA, 'dist'));
    synthInto(example, dirB, 'out');
    envs = fs.readdirSync(path.join(dirA, 'dist')).sort();
  });

  test('determinism: two runs in two temporary directories give byte-identical files', () => {
    const a = path.join(dirA, 'dist');
    const b = path.join(dirB, 'out');
    const files = listFiles(a);
    expect(files.length).toBeGreaterThan(0);
    expect(listFiles(b)).toEqual(files);
    for (const f of files) {
      const bytesA = fs.readFileSync(path.join(a, f));
      const bytesB = fs.readFileSync(path.join(b, f));
      if (!bytesA.equals(bytesB)) throw new Error(`${f} differs between the two runs`);
      const text = bytesA.toString('utf8');
      for (const machinePath of [dirA, dirB, REPO_ROOT, os.tmpdir(), os.homedir()]) {
        if (text.includes(machinePath)) throw new Error(`${f} contains the machine path ${machinePath}`);
      }
    }
  });

  test('every Kubernetes object validates against its schema', () => {
    let count = 0;
    for (const env of envs) count += validateAll(readKubeObjects(path.join(dirA, 'dist', env)));
    expect(count).toBeGreaterThan(0);
  });

  test('security defaults are present in the output, and no policy rule is broken', () => {
    for (const env of envs) {
      const dir = path.join(dirA, 'dist', env);
      const tf = JSON.parse(fs.readFileSync(path.join(dir, 'terraform', 'cdk.tf.json'), 'utf8'));
      const objects = readKubeObjects(dir) as never[];
      const inventory = JSON.parse(fs.readFileSync(path.join(dir, 'platform.json'), 'utf8'));
      const suppressed = new Set((inventory.policy.suppressions as { rule: string; target: string }[]).map((s) => `${s.rule} ${s.target}`));
      const findings = [...checkTerraform(tf), ...checkKubernetes(objects)].filter((f) => !suppressed.has(`${f.ruleId} ${f.target}`) && !suppressed.has(`${f.ruleId} *`));
      expect(findings).toEqual([]);

      // Direct assertions, independent of the rule engine.
      const r = tf.resource;
      const buckets = Object.keys(r.aws_s3_bucket);
      expect(buckets.length).toBeGreaterThan(0);
      expect(Object.values(r.aws_s3_bucket_server_side_encryption_configuration).map((x: any) => x.rule[0].apply_server_side_encryption_by_default.sse_algorithm)).toEqual(buckets.map(() => 'aws:kms'));
      expect(Object.values(r.aws_s3_bucket_public_access_block).every((x: any) => x.block_public_acls && x.block_public_policy && x.ignore_public_acls && x.restrict_public_buckets)).toBe(true);
      expect(Object.keys(r.aws_s3_bucket_public_access_block)).toHaveLength(buckets.length);
      for (const c of Object.values(r.aws_eks_cluster ?? {}) as any[]) {
        expect(c.encryption_config.resources).toEqual(['secrets']);
        expect(c.vpc_config.endpoint_private_access).toBe(true);
        if (c.vpc_config.endpoint_public_access) expect(c.vpc_config.public_access_cidrs).not.toContain('0.0.0.0/0');
      }
      expect(Object.values(r.aws_kms_key).every((k: any) => k.enable_key_rotation === true)).toBe(true);
      const namespaces = objects.filter((o: any) => o.kind === 'Namespace') as any[];
      expect(namespaces.length).toBeGreaterThanOrEqual(4);
      // Only a namespace holding an object with a suppressed, explained finding (the GPU device
      // plugin's hostPath) may be above 'restricted'.
      const explained = new Set((inventory.policy.suppressions as { target: string }[]).map((s) => s.target.split('/')[1]));
      for (const ns of namespaces) {
        const level = ns.metadata.labels['pod-security.kubernetes.io/enforce'];
        if (level !== 'restricted') expect([ns.metadata.name, explained.has(ns.metadata.name)]).toEqual([ns.metadata.name, true]);
        expect(objects.some((o: any) => o.kind === 'NetworkPolicy' && o.metadata.namespace === ns.metadata.name && o.metadata.name === 'default-deny')).toBe(true);
      }
      for (const o of objects as any[]) {
        if (o.kind === 'ServiceAccount' && !o.metadata.annotations?.['cdk-mlops.io/api-access']) expect(o.automountServiceAccountToken).toBe(false);
        for (const pod of findPodSpecs(o.spec)) {
          podSpecsSeen++;
          for (const c of pod.containers as any[]) {
            expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
            const target = `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
            if (!suppressed.has(`K8S-NON-ROOT ${target}`)) expect([target, c.securityContext.runAsNonRoot ?? (pod.securityContext as any)?.runAsNonRoot]).toEqual([target, true]);
            expect(c.resources.requests).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
            expect(c.resources.limits).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
          }
        }
      }
    }
  });
});

describe('schema validation can fail, and names the object', () => {
  test('an invalid object is named', () => {
    expect(() => validateObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, spec: { finalizers: 'nope' } } as never))
      .toThrow('Namespace x (v1) is invalid: data/spec/finalizers must be array');
  });
  test('an object without a known schema is a failure, not a pass', () => {
    expect(() => validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toThrow('no schema for Widget w (example.com/v1)');
  });
  test('the first invalid object stops the run', () => {
    const objs = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok' }, data: { a: 'b' } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'broken' }, spec: { replicas: 'two' } },
    ];
    expect(() => validateAll(objs as never)).toThrow(/^Deployment broken \(apps\/v1\) is invalid/);
  });
});

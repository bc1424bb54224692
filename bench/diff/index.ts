/**
 * `cdk-mlops diff` benchmark (not a test): how long the rendered diff of two dist trees takes,
 * side by side with the tools it replaces or builds on, in interleaved rounds so that noise
 * from other processes hits every variant alike.
 *
 *   npm run bench:diff            (env: BENCH_QUICK=1 for a short run)
 *
 * Trees: `small` (1 environment, 60 Terraform resources, 40 Kubernetes objects) and `large`
 * (3 environments x 600 Terraform resources + 1,200 Kubernetes objects), head = base with 2%
 * of the resources changed, a few added and removed.
 *
 * Variants (all read the same files from disk):
 * - `parse only` (baseline): read the files, JSON.parse / YAML.parseAllDocuments each: the
 *   floor for anything that understands the files.
 * - `git diff --no-index` (baseline): the raw line diff a reviewer gets without cdk-mlops.
 * - `cdk-mlops diff (model)`: readDistDir x2 + diffDist (parse, match, compare, redact).
 * - `cdk-mlops diff (markdown)`: the same plus renderMarkdown.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { diffDist, readDistDir, renderMarkdown } from '../../src/diff';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 3 : 5;

interface Shape { readonly envs: number; readonly tf: number; readonly k8s: number }
const SHAPES: Record<string, Shape> = { small: { envs: 1, tf: 60, k8s: 40 }, large: { envs: 3, tf: 600, k8s: 1200 } };

function terraform(n: number, changed: (i: number) => boolean, v: number): unknown {
  const bucket: Record<string, unknown> = {};
  const role: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const c = changed(i) ? v : 0;
    if (i % 2 === 0) {
      bucket[`b${i}`] = { bucket: `ml-${i}`, tags: { env: 'dev', index: String(i), rev: String(c) }, force_destroy: false };
    } else {
      role[`r${i}`] = {
        name: `ml-${i}`,
        assume_role_policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: c ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'] }] }),
      };
    }
  }
  return { resource: { aws_s3_bucket: bucket, aws_iam_role: role }, output: { o: { value: 'x' } } };
}

function kubernetes(n: number, changed: (i: number) => boolean, v: number): string {
  const docs: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const c = changed(i) ? v : 0;
    docs.push({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `d${i}`, namespace: `ns${i % 10}`, labels: { app: `d${i}` } },
      spec: {
        replicas: 2 + c,
        selector: { matchLabels: { app: `d${i}` } },
        template: {
          metadata: { labels: { app: `d${i}` } },
          spec: {
            containers: [
              { name: 'serve', image: `runtime:1.${c}`, args: ['serve', '--port', '8080'], env: [{ name: 'MODEL', value: `m${i}` }, { name: 'API_TOKEN', value: `t${c}` }], resources: { limits: { cpu: '1', memory: '1Gi' } } },
              { name: 'sidecar', image: 'envoy:1', ports: [{ containerPort: 9901 }] },
            ],
          },
        },
      },
    });
  }
  return docs.map((d) => YAML.stringify(d)).join('---\n');
}

function writeTree(dir: string, s: Shape, head: boolean): void {
  const changed = (i: number): boolean => head && i % 50 === 7; // 2%
  for (let e = 0; e < s.envs; e++) {
    const env = path.join(dir, `env${e}`);
    fs.mkdirSync(path.join(env, 'terraform'), { recursive: true });
    fs.mkdirSync(path.join(env, 'k8s'), { recursive: true });
    // head: one resource fewer at the start, one more at the end (removed and added)
    const tf = terraform(s.tf + (head ? 1 : 0), changed, 1) as { resource: { aws_s3_bucket: Record<string, unknown> } };
    if (head) delete tf.resource.aws_s3_bucket.b0;
    fs.writeFileSync(path.join(env, 'terraform', 'cdk.tf.json'), JSON.stringify(tf, null, 2));
    fs.writeFileSync(path.join(env, 'k8s', 'workloads.yaml'), kubernetes(s.k8s + (head ? 1 : 0), changed, 1));
    fs.writeFileSync(path.join(env, 'platform.json'), JSON.stringify({ environment: `env${e}`, models: [{ name: 'fraud', version: head ? 8 : 7 }] }));
  }
}

function parseOnly(dir: string): number {
  let n = 0;
  for (const env of fs.readdirSync(dir)) {
    n += Object.keys(JSON.parse(fs.readFileSync(path.join(dir, env, 'terraform', 'cdk.tf.json'), 'utf8'))).length;
    n += YAML.parseAllDocuments(fs.readFileSync(path.join(dir, env, 'k8s', 'workloads.yaml'), 'utf8')).length;
    n += Object.keys(JSON.parse(fs.readFileSync(path.join(dir, env, 'platform.json'), 'utf8'))).length;
  }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-diff-'));
  const lines: string[] = [];
  try {
    for (const [name, shape] of Object.entries(SHAPES)) {
      const base = path.join(root, name, 'base');
      const head = path.join(root, name, 'head');
      writeTree(base, shape, false);
      writeTree(head, shape, true);
      let mdChars = 0;
      let gitLines = 0;
      const variants: Record<string, () => void> = {
        'parse only': () => { parseOnly(base); parseOnly(head); },
        'git diff --no-index': () => {
          const r = spawnSync('git', ['diff', '--no-index', '--no-color', base, head], { maxBuffer: 1 << 30 });
          gitLines = r.stdout.toString('utf8').split('\n').length;
        },
        'cdk-mlops diff (model)': () => { diffDist(readDistDir(base), readDistDir(head)); },
        'cdk-mlops diff (markdown)': () => { mdChars = renderMarkdown(diffDist(readDistDir(base), readDistDir(head))).length; },
      };
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
      for (const fn of Object.values(variants)) fn(); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        for (const [k, fn] of Object.entries(variants)) {
          const t = process.hrtime.bigint();
          fn();
          times[k].push(Number(process.hrtime.bigint() - t) / 1e6);
        }
      }
      const d = diffDist(readDistDir(base), readDistDir(head));
      const resources = d.environments.reduce((a, e) => a + e.planes.reduce((b, p) => b + p.baseTotal, 0), 0);
      const changes = d.environments.reduce((a, e) => a + e.planes.reduce((b, p) => b + p.resources.length, 0), 0);
      const floor = median(times['parse only']);
      lines.push(`${name}: ${shape.envs} env(s), ${resources} resources at base, ${changes} differing; markdown ${mdChars} chars, git diff ${gitLines} lines`);
      for (const [k, ts] of Object.entries(times)) {
        lines.push(`  ${k.padEnd(26)} median ${median(ts).toFixed(1).padStart(8)} ms   x${(median(ts) / floor).toFixed(2)} of parse only`);
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  process.stdout.write(`cdk-mlops diff benchmark (${ROUNDS} interleaved rounds, Node ${process.version}, ${os.cpus().length} CPUs)\n${lines.join('\n')}\n`);
}

main();

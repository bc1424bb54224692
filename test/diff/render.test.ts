import { SECRETS, devTree, json, tree, yaml } from './fixtures';
import { MARKDOWN_MARKER, diffDist, renderJson, renderMarkdown, renderText } from '../../src/diff';
import { truncateMarkdown } from '../../src/diff/render/markdown';

const diff = diffDist(devTree(false), devTree(true), { baseLabel: 'origin/main:dist', headLabel: 'dist' });

/** Every secret of the fixtures, and its base64 form where the tree holds it encoded. */
const secrets = Object.values(SECRETS).flatMap((s) => [s, Buffer.from(s, 'base64').toString('utf-8')]).filter((s) => s.length >= 8);

describe('secrets are never printed', () => {
  test.each([
    ['text', (): string => renderText(diff)],
    ['text, coloured', (): string => renderText(diff, { color: true })],
    ['markdown', (): string => renderMarkdown(diff)],
    ['json', (): string => renderJson(diff)],
  ])('%s', (_name, render) => {
    const out = render();
    for (const s of secrets) expect(out).not.toContain(s);
    // ...while saying where a sensitive value changed
    expect(out).toContain('auth_token');
    expect(out).toContain('(sensitive value changed)');
  });

  test('not in the bodies of added or removed resources either', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { 'config.json': 'hunter2-added-secret' } };
    const d = diffDist(tree({ 'dev/k8s/a.yaml': yaml(secret) }), tree({ 'dev/k8s/b.yaml': yaml({ ...secret, metadata: { name: 't' } }) }));
    for (const out of [renderText(d), renderMarkdown(d), renderJson(d)]) {
      expect(out).not.toContain('hunter2-added-secret');
      expect(out).toContain('config.json');
    }
  });
});

describe('renderText', () => {
  const out = renderText(diff);

  test('starts with what is compared and gives each environment its summary line', () => {
    expect(out.split('\n')[0]).toBe('cdk-mlops diff: origin/main:dist -> dist');
    expect(out).toContain(`\n${diff.environments[0].summary}\n`);
  });

  test('marks added, removed and changed resources and fields', () => {
    expect(out).toContain('  Terraform: 2 to add, 3 to change, 1 to destroy, 4 other blocks changed\n');
    expect(out).toContain('    + aws_sqs_queue.retrain\n');
    expect(out).toContain('    +     name: ml-dev-retrain\n');
    expect(out).toContain('    - aws_s3_bucket.logs\n');
    expect(out).toContain('    ~ apps/Deployment serving/fraud  (k8s/serving.yaml)\n');
    expect(out).toContain('    ~     spec.template.spec.containers[name=serve].image: "ghcr.io/acme/runtime:1.0.0" -> "ghcr.io/acme/runtime:1.1.0"\n');
    expect(out).toContain('    ~     spec.template.spec.containers[name=serve].env[name=API_TOKEN].value: (sensitive value changed)\n');
  });

  test('shows a changed text (a config file) as a line diff, hiding the secret line but not the fact it changed', () => {
    const block = out.slice(out.indexOf('data["config.yaml"]'), out.indexOf('~ Secret serving/db'));
    expect(block).toContain('-         password: (sensitive value)');
    expect(block).toContain('+         password: (sensitive value changed)');
    expect(block).toContain('-       batch: 16');
    expect(block).toContain('+       batch: 32');
    expect(block).toContain('          user: app'); // context
  });

  test('colours only when asked', () => {
    expect(out).not.toContain('\u001b[');
    expect(renderText(diff, { color: true })).toContain('\u001b[32m    + aws_sqs_queue.retrain\u001b[0m');
  });

  test('detail levels leave out bodies, then fields', () => {
    const fields = renderText(diff, { detail: 'fields' });
    expect(fields).toContain('+ aws_sqs_queue.retrain');
    expect(fields).not.toContain('name: ml-dev-retrain');
    expect(fields).toContain('spec.replicas: 2 -> 3');
    const resources = renderText(diff, { detail: 'resources' });
    expect(resources).toContain('~ apps/Deployment serving/fraud');
    expect(resources).not.toContain('spec.replicas');
    expect(renderText(diff, { detail: 'summary' }).trim().split('\n')).toHaveLength(3);
  });
});

describe('renderMarkdown', () => {
  const md = renderMarkdown(diff);

  test('starts with the hidden marker a workflow uses to update one comment', () => {
    expect(md.startsWith(`${MARKDOWN_MARKER}\n`)).toBe(true);
    expect(MARKDOWN_MARKER).toBe('<!-- cdk-mlops-diff -->');
  });

  test('has a heading and the summary line per environment', () => {
    expect(md).toContain('\n### dev\n');
    expect(md).toContain(`**${diff.environments[0].summary}**`);
    expect(md).toContain('Comparing `origin/main:dist` (base) with `dist` (head): 1 of 1 environment changed.');
  });

  test('puts long planes in collapsed <details> with a diff code block, short ones inline', () => {
    expect(md).toContain('<details><summary>Terraform: 2 to add, 3 to change, 1 to destroy, 4 other blocks changed</summary>\n\n```diff\n');
    expect(md).toContain('<details><summary>Kubernetes: 1 added, 3 changed, 1 removed</summary>');
    expect(md).toContain('**Inventory: 1 added, 1 changed, 0 removed**\n\n```diff\n+ endpoints/fraud\n');
    expect(md.match(/<details>/g)).toHaveLength(2);
    expect(md.match(/<\/details>/g)).toHaveLength(2);
    // in a diff block a changed value is a removed and an added line, so GitHub colours them
    expect(md).toContain('\n-     spec.replicas: 2\n+     spec.replicas: 3\n');
    // everything collapsed when the threshold is low, nothing when high
    expect(renderMarkdown(diff, { collapseAfterLines: 1 }).match(/<details>/g)).toHaveLength(3);
    expect(renderMarkdown(diff, { collapseAfterLines: 1000 })).not.toContain('<details>');
  });

  test('code blocks survive values holding backticks; names are escaped', () => {
    const d = diffDist(
      tree({ 'a_b/platform.json': json({ note: 'x' }) }),
      tree({ 'a_b/platform.json': json({ note: 'run ```rm -rf``` <b>' }) }),
    );
    const m = renderMarkdown(d);
    expect(m).toContain('\n````diff\n');
    expect(m).toContain('### a\\_b');
  });

  test('shortens itself to fit a pull-request comment, and says so', () => {
    const full = renderMarkdown(diff);
    const shorter = renderMarkdown(diff, { maxLength: full.length - 1 });
    expect(shorter.length).toBeLessThan(full.length);
    expect(shorter).toContain('shortened to fit a pull-request comment: the bodies of added resources are left out');
    expect(shorter).not.toContain('minReplicas');
    const tiny = renderMarkdown(diff, { maxLength: 700 });
    expect(tiny).toContain('only the summary of each environment is shown');
    expect(tiny.length).toBeLessThanOrEqual(700);
    const cut = renderMarkdown(diff, { maxLength: 300 });
    expect(cut.length).toBeLessThanOrEqual(300);
    expect(cut).toContain('cut to fit a pull-request comment');
  });

  test('a cut closes the code fence and the <details> blocks it leaves open, within maxLength', () => {
    const body = Array.from({ length: 40 }, (_, i) => `+   line ${i}`).join('\n');
    const long = ['## diff', '', '<details><summary>cloud</summary>', '', '````diff', body, '````', '', '</details>', '', 'after'].join('\n');
    for (const maxLength of [200, 300, 450]) {
      const cut = truncateMarkdown(long, maxLength);
      expect(cut.length).toBeLessThanOrEqual(maxLength);
      // the fence is closed with as many backticks as it was opened with, then the details block
      expect(cut).toMatch(/\n\+ {3}line \d+\n````\n\n<\/details>\n\n> \*\*Note:\*\* cut to fit/);
      expect(cut.match(/````/g)).toHaveLength(2);
      expect(cut.match(/<details>/g)?.length).toBe(cut.match(/<\/details>/g)?.length);
    }
    // cut inside the details block but after its fence: only </details> is added
    const afterFence = truncateMarkdown(long, long.indexOf('</details>') + 100);
    expect(afterFence).not.toContain('after');
    expect(afterFence.match(/````/g)).toHaveLength(2);
    expect(afterFence.match(/<\/details>/g)).toHaveLength(1);
    // nothing open: nothing added
    const plain = truncateMarkdown(['# t', '', ...Array.from({ length: 30 }, (_, i) => `line ${i}`)].join('\n'), 150);
    expect(plain).not.toContain('```');
    expect(plain).not.toContain('</details>');
    expect(plain.length).toBeLessThanOrEqual(150);
  });

  test('no change says so', () => {
    const m = renderMarkdown(diffDist(devTree(true), devTree(true), { baseLabel: 'b', headLabel: 'h' }));
    expect(m).toContain('(head): no changes.');
    expect(m).toContain('**dev: no changes**');
    expect(m).not.toContain('```');
  });
});

describe('renderJson', () => {
  test('is the model, parseable, with counts and field changes', () => {
    const parsed = JSON.parse(renderJson(diff));
    expect(parsed.schemaVersion).toBe(1);
    expect(parsed.changed).toBe(true);
    const dev = parsed.environments[0];
    expect(dev.planes.map((p: { plane: string }) => p.plane)).toEqual(['terraform', 'kubernetes', 'inventory']);
    expect(dev.planes[0].counts).toEqual({ add: 2, change: 3, remove: 1, other: 4 });
    expect(parsed).toEqual(JSON.parse(JSON.stringify(diff)));
  });
});

import { JsonValue, Redactor, compareResources, deepEqual, diffLines, formatPath, redactValue } from '../../src/diff';

describe('compareResources: field-level changes', () => {
  test('reports added, removed and changed leaves with their paths, sorted by key', () => {
    const changes = compareResources(
      { spec: { replicas: 2, paused: false, selector: { app: 'a' } }, z: 1 },
      { spec: { replicas: 3, selector: { app: 'a', tier: 'web' } }, a: 'x', z: 1 },
    );
    expect(changes).toEqual([
      { path: 'a', action: 'add', after: 'x' },
      { path: 'spec.paused', action: 'remove', before: false },
      { path: 'spec.replicas', action: 'change', before: 2, after: 3 },
      { path: 'spec.selector.tier', action: 'add', after: 'web' },
    ]);
  });

  test('no change gives no entries, whatever the key order', () => {
    expect(compareResources({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
    expect(deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
  });

  test('matches array elements by name, so an insertion does not shift the others', () => {
    const before: JsonValue = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'serve', image: 'runtime:1', ports: [{ containerPort: 8080 }] },
              { name: 'sidecar', image: 'envoy:1' },
            ],
          },
        },
      },
    };
    const after: JsonValue = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'init', image: 'busybox' },
              { name: 'serve', image: 'runtime:2', ports: [{ containerPort: 8080 }, { containerPort: 9090 }] },
              { name: 'sidecar', image: 'envoy:1' },
            ],
          },
        },
      },
    };
    expect(compareResources(before, after)).toEqual([
      { path: 'spec.template.spec.containers[name=init].image', action: 'add', after: 'busybox' },
      { path: 'spec.template.spec.containers[name=serve].image', action: 'change', before: 'runtime:1', after: 'runtime:2' },
      // ports have no name: matched by index
      { path: 'spec.template.spec.containers[name=serve].ports[1].containerPort', action: 'add', after: 9090 },
    ]);
  });

  test('a removed named element lists its fields under its name, and a reordering is reported once', () => {
    const changes = compareResources(
      { env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }, { name: 'C', value: '3' }] },
      { env: [{ name: 'C', value: '3' }, { name: 'A', value: '1' }] },
    );
    expect(changes).toEqual([
      { path: 'env', action: 'change', before: ['A', 'C'], after: ['C', 'A'], note: 'order changed' },
      { path: 'env[name=B].value', action: 'remove', before: '2' },
    ]);
  });

  test('lists of objects named the same in several kinds or namespaces are matched by kind, namespace and name', () => {
    const obj = (kind: string, name: string, file: string): JsonValue => ({ kind, namespace: 'serving', name, file });
    const before = { objects: [obj('Deployment', 'fraud', 'a.yaml'), obj('Service', 'fraud', 'a.yaml')] };
    const after = { objects: [obj('ConfigMap', 'fraud', 'a.yaml'), obj('Deployment', 'fraud', 'a.yaml'), obj('Service', 'fraud', 'b.yaml')] };
    expect(compareResources(before, after)).toEqual([
      { path: 'objects[kind=ConfigMap,namespace=serving,name=fraud].file', action: 'add', after: 'a.yaml' },
      { path: 'objects[kind=Service,namespace=serving,name=fraud].file', action: 'change', before: 'a.yaml', after: 'b.yaml' },
    ]);
    // `key` identifies elements too, and a { key, value } pair with a sensitive key is hidden
    expect(compareResources({ tag: [{ key: 'team', value: 'a' }, { key: 'db_password', value: 'x1' }] }, { tag: [{ key: 'team', value: 'b' }, { key: 'db_password', value: 'x2' }] }))
      .toEqual([
        { path: 'tag[key=db_password].value', action: 'change', sensitive: true },
        { path: 'tag[key=team].value', action: 'change', before: 'a', after: 'b' },
      ]);
  });

  test('falls back to the index when names repeat or are missing', () => {
    expect(compareResources({ l: [{ name: 'x', v: 1 }, { name: 'x', v: 2 }] }, { l: [{ name: 'x', v: 1 }, { name: 'x', v: 3 }] }))
      .toEqual([{ path: 'l[1].v', action: 'change', before: 2, after: 3 }]);
    expect(compareResources({ ingress: [{ from_port: 80 }] }, { ingress: [{ from_port: 443 }] }))
      .toEqual([{ path: 'ingress[0].from_port', action: 'change', before: 80, after: 443 }]);
  });

  test('arrays of plain values are compared whole', () => {
    expect(compareResources({ args: ['serve', '--port', '8080'] }, { args: ['--verbose', 'serve', '--port', '8080'] }))
      .toEqual([{ path: 'args', action: 'change', before: ['serve', '--port', '8080'], after: ['--verbose', 'serve', '--port', '8080'] }]);
  });

  test('strings holding JSON (IAM policies) are compared structurally', () => {
    const p = (actions: string[]): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions }] });
    expect(compareResources({ policy: p(['s3:GetObject']) }, { policy: p(['s3:GetObject', 's3:PutObject']) })).toEqual([
      { path: 'policy(json).Statement[0].Action', action: 'change', before: ['s3:GetObject'], after: ['s3:GetObject', 's3:PutObject'] },
    ]);
  });

  test('a value that changes type is removed then added, leaf by leaf', () => {
    expect(compareResources({ v: 'x' }, { v: { a: 1, b: [] } })).toEqual([
      { path: 'v', action: 'remove', before: 'x' },
      { path: 'v.a', action: 'add', after: 1 },
      { path: 'v.b', action: 'add', after: [] },
    ]);
  });

  test('quotes keys that are not identifiers and selectors that need it', () => {
    expect(compareResources({ metadata: { labels: {} } }, { metadata: { labels: { 'app.kubernetes.io/name': 'x' } } }))
      .toEqual([{ path: 'metadata.labels["app.kubernetes.io/name"]', action: 'add', after: 'x' }]);
    expect(formatPath([{ kind: 'key', key: 'l' }, { kind: 'match', by: [['name', 'a b']] }, { kind: 'index', index: 2 }])).toBe('l[name="a b"][2]');
  });
});

describe('diffLines', () => {
  test('shows changed lines with two lines of context and marks the gaps', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const after = 'a\nb\nc\nd\nE\nf\ng\nh\n';
    expect(diffLines(before, after)).toEqual([
      { op: '…', text: '' },
      { op: ' ', text: 'c' }, { op: ' ', text: 'd' },
      { op: '-', text: 'e' }, { op: '+', text: 'E' },
      { op: ' ', text: 'f' }, { op: ' ', text: 'g' },
      { op: '…', text: '' },
    ]);
  });

  test('aligns insertions (longest common subsequence)', () => {
    expect(diffLines('x\ny\n', 'w\nx\nz\ny\n', 5).map((l) => `${l.op}${l.text}`)).toEqual(['+w', ' x', '+z', ' y']);
    expect(diffLines('', 'a\n').map((l) => `${l.op}${l.text}`)).toEqual(['+a']);
  });
});

describe('redactValue', () => {
  test('keeps structure and hides only what is sensitive', () => {
    const r = new Redactor([{ sensitiveEntries: [['data']] }]);
    expect(redactValue({ kind: 'Secret', data: { a: 'c2VjcmV0' }, metadata: { name: 'db' } }, r))
      .toEqual({ kind: 'Secret', data: { a: '(sensitive value)' }, metadata: { name: 'db' } });
  });
});

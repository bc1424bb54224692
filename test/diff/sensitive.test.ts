import { PathSegment, Redactor, compareResources, scrubPair, scrubString, sensitiveByKey } from '../../src/diff';

const p = (...parts: (string | number | { name: string })[]): PathSegment[] => parts.map((x) =>
  typeof x === 'string' ? { kind: 'key', key: x } : typeof x === 'number' ? { kind: 'index', index: x } : { kind: 'match', by: [['name', x.name]] });

describe('sensitive values: the key-name rule', () => {
  test.each([
    [['master_password']], [['auth_token']], [['secret_string']], [['private_key_pem']], [['token']],
    [['access_key']], [['client_secret']], [['auth', 'user', 'password']], [['set_sensitive', 0, 'value']],
    [['spec', 'containers', { name: 'serve' }, 'env', { name: 'API_TOKEN' }, 'value']],
    [['data', 'DB_PASSWORD']], [['headers', 'Authorization']],
  ])('%j is sensitive', (parts) => {
    expect(sensitiveByKey(p(...parts))).toBe(true);
  });

  test.each([
    [['bucket']], [['tags', 'author']], [['model', 'tokenizer']], [['secret_id']], [['kms_key_id']],
    [['env', { name: 'API_TOKEN' }, 'valueFrom', 'secretKeyRef', 'key']],
    [['volumes', { name: 'creds' }, 'secret', 'defaultMode']], [['volumes', { name: 'creds' }, 'secret', 'secretName']],
    [['env', { name: 'MODEL' }, 'value']], [['set_sensitive', 0, 'name']], [['authentication_mode', 'type']],
  ])('%j is shown', (parts) => {
    expect(sensitiveByKey(p(...parts))).toBe(false);
  });

  test('booleans are settings, never secrets', () => {
    const r = Redactor.DEFAULT;
    expect(r.isSensitiveLeaf(p('spec', 'automountServiceAccountToken'), false)).toBe(false);
    expect(r.isSensitiveLeaf(p('auth_token'), 'x')).toBe(true);
  });

  test('opaque rules hide a whole subtree, entry rules hide the values of a map but not its keys', () => {
    const r = new Redactor([{ opaque: [['value']] }, { sensitiveEntries: [['data']] }]);
    expect(r.isOpaque(p('value', 'users', 0))).toBe(true);
    expect(r.isOpaque(p('description'))).toBe(false);
    expect(r.isSensitiveLeaf(p('data', 'anything'), 'x')).toBe(true);
    expect(r.isSensitiveLeaf(p('data'), 'x')).toBe(false);
  });
});

describe('scrubString', () => {
  test('hides passwords in URLs, sensitive key/value lines, Authorization headers and private keys', () => {
    const s = [
      'url: postgres://app:pw-in-url-123@db:5432/ml',
      'password: pw-line-456',
      'export API_KEY=ak-789',
      '  - client_secret: "cs-000"',
      'Authorization: Bearer tok-111',
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEpAIBAAKCAQEA-key-body-222',
      '-----END RSA PRIVATE KEY-----',
      'secretName: keep-me',
      'tls_enabled: true',
      'user: app',
    ].join('\n');
    const out = scrubString(s);
    for (const secret of ['pw-in-url-123', 'pw-line-456', 'ak-789', 'cs-000', 'tok-111', 'key-body-222']) expect(out).not.toContain(secret);
    for (const kept of ['postgres://app:', '@db:5432/ml', 'secretName: keep-me', 'tls_enabled: true', 'user: app', 'BEGIN RSA PRIVATE KEY']) expect(out).toContain(kept);
  });

  test('scrubPair marks the line whose hidden value changed', () => {
    const [a, b] = scrubPair('user: app\npassword: one\nport: 1\n', 'user: app\npassword: two\nport: 2\n');
    expect(a).toBe('user: app\npassword: (sensitive value)\nport: 1\n');
    expect(b).toBe('user: app\npassword: (sensitive value changed)\nport: 2\n');
    const [c, d] = scrubPair('k: -----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n', 'k: -----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n');
    expect(`${c}${d}`).not.toMatch(/AAA|BBB/);
    expect(d).toContain('(sensitive value changed)');
  });

  test('a change only in a hidden part of a string shows where, never the values', () => {
    expect(compareResources({ url: 'redis://u:old-pw@h:6379' }, { url: 'redis://u:new-pw@h:6379' })).toEqual([
      { path: 'url', action: 'change', before: 'redis://u:(sensitive value)@h:6379', after: 'redis://u:(sensitive value changed)@h:6379' },
    ]);
    // inside a JSON string (an ECS container definition), the key rule applies too
    const def = (pw: string): string => JSON.stringify([{ name: 'app', environment: [{ name: 'DB_PASSWORD', value: pw }] }]);
    const changes = compareResources({ container_definitions: def('old-pw') }, { container_definitions: def('new-pw') });
    expect(changes).toEqual([{ path: 'container_definitions(json)[name=app].environment[name=DB_PASSWORD].value', action: 'change', sensitive: true }]);
  });
});

describe('sensitive values: conventional secret names and credential-shaped values', () => {
  test.each([['DB_PASS'], ['MYSQL_PWD'], ['STRIPE_SK'], ['STRIPE_KEY'], ['HASH_SALT'], ['JWT_SIGNING_KEY'], ['WEBHOOK_HMAC']])('env %s is hidden in a name/value pair', (name) => {
    expect(sensitiveByKey(p('spec', 'containers', { name: 'app' }, 'env', { name }, 'value'))).toBe(true);
  });

  test('lower-case `key` fields (tolerations, selectors, key refs) are still shown', () => {
    expect(sensitiveByKey(p('spec', 'tolerations', 0, 'key'))).toBe(false);
    expect(sensitiveByKey(p('spec', 'containers', { name: 'app' }, 'env', { name: 'MODEL_KEYSPACE' }, 'value'))).toBe(false);
  });

  test.each([
    ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['a Stripe live key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['a GitHub token', 'ghp_0123456789abcdefghij0123456789ABCD'],
    ['a Slack webhook', 'https://hooks.slack.com/services/T000/B000/XXXXXXXX'],
  ])('%s is hidden under any key, and inside text', (_what, secret) => {
    expect(Redactor.DEFAULT.isSensitiveLeaf(p('spec', 'notes'), secret)).toBe(true);
    const text = scrubString(`endpoint: https://api.example.com\nsetting=${secret}\n`);
    expect(text).not.toContain(secret);
    expect(text).toContain('endpoint: https://api.example.com');
  });
});

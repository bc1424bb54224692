import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUNTIME_VERSION } from '../../src';
import { REPO_ROOT } from '../support/dist';

const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
const lines = dockerfile.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

describe('Dockerfile of the runtime image', () => {
  test('multi-stage, every base pinned to an exact Node.js release', () => {
    const args = Object.fromEntries(lines.filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4).split('=')));
    const froms = lines.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1].replace(/^\$\{(\w+)\}$/, (_, n) => args[n]));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[a-f0-9]{64})?$/);
  });

  test('the runtime stage installs production dependencies only and runs as a numeric non-root user', () => {
    const runtime = lines.slice(lines.findIndex((l) => l.startsWith('FROM ') && l.includes('AS runtime')));
    expect(runtime.some((l) => /npm ci .*--omit=dev/.test(l))).toBe(true);
    const user = runtime.filter((l) => l.startsWith('USER ')).pop();
    expect(user).toMatch(/^USER [1-9]\d{3,}:[1-9]\d{3,}$/);
    expect(runtime.indexOf(user!)).toBeGreaterThan(runtime.findIndex((l) => l.includes('npm ci')));
    expect(runtime.some((l) => l.startsWith('ENTRYPOINT ["node", "/app/bin/cdk-mlops"]'))).toBe(true);
    expect(runtime.some((l) => /COPY --from=build .*lib/.test(l))).toBe(true);
  });

  test('the image the constructs reference by default carries this release version', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(RUNTIME_VERSION).toBe(pkg.version);
  });
});

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

  test('one Dockerfile builds the GPU variant: the runtime base and the onnxruntime-node install are build arguments, CPU by default', () => {
    const args = Object.fromEntries(lines.filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4).split('=')));
    const runtimeFrom = lines.find((l) => l.startsWith('FROM ') && l.includes('AS runtime'))!;
    const buildFrom = lines.find((l) => l.startsWith('FROM ') && l.includes('AS build'))!;
    // the runtime stage's base is RUNTIME_BASE_IMAGE (a CUDA 12 + cuDNN 9 + Node 22 image for the GPU
    // variant), the build stage stays on NODE_IMAGE; both default to the same Node.js release
    expect(runtimeFrom).toBe('FROM ${RUNTIME_BASE_IMAGE} AS runtime');
    expect(buildFrom).toBe('FROM ${NODE_IMAGE} AS build');
    expect(args.RUNTIME_BASE_IMAGE).toBe(args.NODE_IMAGE);
    // the global ARG must come before the first FROM to be usable in FROM
    expect(lines.indexOf(`ARG RUNTIME_BASE_IMAGE=${args.RUNTIME_BASE_IMAGE}`)).toBeLessThan(lines.indexOf(buildFrom));

    const runtime = lines.slice(lines.indexOf(runtimeFrom));
    const build = lines.slice(lines.indexOf(buildFrom), lines.indexOf(runtimeFrom));
    // runtime stage: the argument defaults to skip (the CPU image) and reaches the production npm ci
    expect(runtime).toContain('ARG ONNXRUNTIME_NODE_INSTALL=skip');
    const install = runtime.find((l) => /npm ci .*--omit=dev/.test(l))!;
    expect(install).toMatch(/^RUN ONNXRUNTIME_NODE_INSTALL=\$\{ONNXRUNTIME_NODE_INSTALL\} npm ci /);
    expect(runtime.indexOf('ARG ONNXRUNTIME_NODE_INSTALL=skip')).toBeLessThan(runtime.indexOf(install));
    // build stage: never fetches the CUDA provider (it only compiles)
    expect(build).toContain('ENV ONNXRUNTIME_NODE_INSTALL=skip');
    // the comment documents how to build the GPU variant
    expect(dockerfile).toContain('--build-arg RUNTIME_BASE_IMAGE=<cuda-node> --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect(dockerfile).toMatch(/CUDA 12\s+#?\s*and cuDNN 9 runtime libraries and Node\.js 22/);
  });

  test('the image the constructs reference by default carries this release version', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(RUNTIME_VERSION).toBe(pkg.version);
  });
});

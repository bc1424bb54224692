import { MlApp, MlopsValidationError, MlPlatform, MlPlatformProps, PlatformSynthesis, synthesizePlatform } from '../../src';

/** Minimal valid props for a platform in tests. */
export const BASE_PROPS: MlPlatformProps = {
  platformName: 'acme-ml',
  environment: 'dev',
  region: 'eu-west-1',
  account: '123456789012',
};

/** A new app with one platform. */
export function newPlatform(props: Partial<MlPlatformProps> = {}, id = 'dev'): { app: MlApp; platform: MlPlatform } {
  const app = new MlApp({ outdir: '/nonexistent-never-written' });
  const platform = new MlPlatform(app, id, { ...BASE_PROPS, ...props });
  return { app, platform };
}

/** Synthesizes a platform in memory. */
export function synth(platform: MlPlatform): PlatformSynthesis {
  return synthesizePlatform(platform);
}

type TfResource = Record<string, unknown>;

/** Resources of one type in a synthesis, by name. */
export function tfResources(s: PlatformSynthesis, type: string): Record<string, TfResource> {
  return ((s.terraform.resource as Record<string, Record<string, TfResource>>)[type]) ?? {};
}

/** A synthesized Kubernetes object, loosely typed for assertions. */
export interface TestKubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** All Kubernetes objects of a synthesis, in file order. */
export function kubeObjects(s: PlatformSynthesis): TestKubeObject[] {
  return Object.keys(s.kubernetes).sort().flatMap((f) => s.kubernetes[f]) as never;
}

/** Runs `fn`, which must throw an MlopsValidationError; returns its message. */
export function validationMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsValidationError);
    return (e as Error).message;
  }
  throw new Error('expected an MlopsValidationError');
}

/**
 * Runs `fn`, which must throw an MlopsValidationError holding a problem for `prop` whose
 * received value and expectation match `fragment`.
 */
export function expectProblem(fn: () => unknown, prop: string, fragment: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsValidationError);
    const p = (e as MlopsValidationError).problems.find((x) => x.prop === prop);
    if (!p) throw new Error(`no problem for '${prop}' in: ${(e as Error).message}`);
    expect(`${p.received} ${p.expected}`).toMatch(fragment);
    return;
  }
  throw new Error('expected an MlopsValidationError');
}

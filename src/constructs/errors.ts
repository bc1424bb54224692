import { IConstruct } from 'constructs';

/** One problem with one prop. */
export interface PropProblem {
  /** The prop, as the user wrote it (`network.cidr`, `maxReplicas`). */
  readonly prop: string;
  /** What was received, rendered for a message. */
  readonly received: string;
  /** What was expected. */
  readonly expected: string;
}

/**
 * The one error type cdk-mlops constructs throw for invalid props. It carries the construct
 * path and every problem found, so that several mistakes are reported together:
 *
 * ```
 * cdk-mlops: invalid props at 'acme/prod':
 *   - 'environment' ("Prod_1") must be a DNS-1123 label: lower-case letters, digits and '-', ...
 *   - 'network.cidr' ("10.0.0.0/33") must be an IPv4 CIDR block with a prefix of /16 to /24
 * ```
 */
export class MlopsValidationError extends Error {
  public readonly constructPath: string;
  public readonly problems: readonly PropProblem[];
  constructor(constructPath: string, problems: readonly PropProblem[]) {
    const lines = problems.map((p) => `  - '${p.prop}' (${p.received}) ${p.expected}`);
    super(`cdk-mlops: invalid props at '${constructPath}':\n${lines.join('\n')}`);
    this.name = 'MlopsValidationError';
    this.constructPath = constructPath;
    this.problems = problems;
  }
}

/** Renders a received value for a message: strings quoted, long values cut. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Collects prop problems for one construct and throws them together.
 *
 * ```ts
 * const v = new PropValidator(this);
 * v.check(min <= max, 'minReplicas', min, `must not exceed 'maxReplicas' (${max})`);
 * v.throwIfAny();
 * ```
 */
export class PropValidator {
  private readonly problems: PropProblem[] = [];
  constructor(private readonly scope: IConstruct | string) {}

  /** Records a problem when `ok` is false. Returns `ok`. */
  public check(ok: boolean, prop: string, received: unknown, expected: string): boolean {
    if (!ok) this.problems.push({ prop, received: show(received), expected });
    return ok;
  }

  /** Records a problem unconditionally. */
  public fail(prop: string, received: unknown, expected: string): void {
    this.problems.push({ prop, received: show(received), expected });
  }

  public get hasProblems(): boolean {
    return this.problems.length > 0;
  }

  /** Throws a MlopsValidationError listing every problem recorded, if any. */
  public throwIfAny(): void {
    if (this.problems.length === 0) return;
    const path = typeof this.scope === 'string' ? this.scope : this.scope.node.path || '(root)';
    throw new MlopsValidationError(path, this.problems);
  }
}

/** DNS-1123 label: what Kubernetes namespaces and most names must be. */
export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The environments of a GitOps repository, in promotion order (`dev`, `staging`, `prod`). The
 * generated repository keeps the list in `src/environments.ts`; `.projenrc.ts` reads it for the
 * workflows and the Argo CD bootstrap, and the platform program reads it for the platforms, so
 * an environment is declared once.
 *
 * This module imports nothing from projen: the platform program may import its types.
 */
export interface GitOpsEnvironment {
  /** The environment: a DNS-1123 label of at most 12 characters, as MlPlatform's `environment`. */
  readonly name: string;
  /** AWS account id (12 digits) the environment deploys into. */
  readonly account: string;
  /** AWS region (`eu-west-1`). */
  readonly region: string;
  /**
   * Argo CD deletes objects that were removed from `dist/<env>/k8s` (automated prune).
   * Without it, a removal shows as out of sync until someone syncs with prune in Argo CD.
   * @default true
   */
  readonly prune?: boolean;
  /**
   * Argo CD reverts changes made to the cluster by hand (automated self-heal).
   * @default true
   */
  readonly selfHeal?: boolean;
}

const ENV_NAME = /^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

/** Problems of an environment list, each naming the field, the value and what was expected. */
export function environmentProblems(environments: readonly GitOpsEnvironment[] | undefined): string[] {
  if (!Array.isArray(environments) || environments.length === 0) {
    return [`environments: ${JSON.stringify(environments)} is not a list of environments; expected at least one, in promotion order (e.g. dev, staging, prod)`];
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  environments.forEach((e, i) => {
    const at = `environments[${i}]`;
    if (typeof e?.name !== 'string' || !ENV_NAME.test(e.name)) {
      problems.push(`${at}.name: ${JSON.stringify(e?.name)} is not an environment name; expected a DNS-1123 label of at most 12 characters (e.g. 'dev', 'prod')`);
    } else if (seen.has(e.name)) {
      problems.push(`${at}.name: '${e.name}' appears twice; expected each environment once`);
    } else {
      seen.add(e.name);
    }
    if (typeof e?.account !== 'string' || !/^\d{12}$/.test(e.account)) {
      problems.push(`${at}.account: ${JSON.stringify(e?.account)} is not an AWS account id; expected 12 digits`);
    }
    if (typeof e?.region !== 'string' || !REGION.test(e.region)) {
      problems.push(`${at}.region: ${JSON.stringify(e?.region)} is not an AWS region; expected e.g. 'eu-west-1'`);
    }
    for (const flag of ['prune', 'selfHeal'] as const) {
      if (e?.[flag] !== undefined && typeof e[flag] !== 'boolean') problems.push(`${at}.${flag}: ${JSON.stringify(e[flag])} is not a boolean; expected true or false`);
    }
  });
  return problems;
}

/** `staging-eu` -> `STAGING_EU`: the suffix of per-environment repository variables. */
export function variableSuffix(environment: string): string {
  return environment.toUpperCase().replace(/-/g, '_');
}

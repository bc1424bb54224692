/**
 * The review side of a GitOps repository: who must approve what (CODEOWNERS) and what a
 * reviewer checks (the pull-request template).
 */

/** Who owns what. */
export interface CodeOwnersSettings {
  /** Owners of everything (`@org/team` or `@user`). */
  readonly owners: readonly string[];
  /** Owners of the pins file (model promotions). */
  readonly modelOwners: readonly string[];
  readonly pinsFile: string;
}

const OWNER = /^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\/[A-Za-z0-9._-]+)?$|^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Problems of a list of code owners. */
export function ownerProblems(field: string, owners: readonly string[] | undefined): string[] {
  if (!Array.isArray(owners) || owners.length === 0) return [`${field}: ${JSON.stringify(owners)} is not a list of owners; expected at least one '@org/team', '@user' or e-mail address`];
  return owners.filter((o) => typeof o !== 'string' || !OWNER.test(o))
    .map((o) => `${field}: ${JSON.stringify(o)} is not a code owner; expected '@org/team', '@user' or an e-mail address`);
}

/** The lines of `.github/CODEOWNERS` (the last matching pattern wins). */
export function codeOwnersLines(s: CodeOwnersSettings): string[] {
  const owners = s.owners.join(' ');
  const models = [...new Set([...s.modelOwners, ...s.owners])].join(' ');
  return [
    '# Owners review every pull request to what they own; GitHub requests them automatically.',
    '# Make their review required with a branch protection rule on the default branch.',
    `* ${owners}`,
    '# Model promotions: the pinned versions, and the manifests they render.',
    `/${s.pinsFile.replace(/^\.?\//, '')} ${models}`,
  ];
}

/** `.github/pull_request_template.md`. */
export function pullRequestTemplateLines(pinsFile: string): string[] {
  return [
    '## What changes and why',
    '',
    '<!-- The platform change, the model promotion or the rollback this pull request makes, and why. -->',
    '',
    '## Review checklist',
    '',
    '- [ ] **Rendered diff reviewed**: the `cdk-mlops diff` comment on this pull request shows only the intended changes, per environment, in both planes (Terraform and Kubernetes); replacements and deletions are intended.',
    '- [ ] **Terraform plan reviewed** where it ran (`terraform plan (<env>)` job summaries): no unexpected destroy or replace.',
    '- [ ] **Policy suppressions justified**: every suppression added with `platform.suppressPolicy(...)` has a reason a security reviewer accepts (they are listed under `policy.suppressions` in `dist/<env>/platform.json`).',
    `- [ ] **Model pins**: each version changed in \`${pinsFile}\` was validated in the environment it is promoted from (quality gate, model card, drift baseline), and the environments' order (dev, then staging, then prod) is kept.`,
    '- [ ] **Cost**: new or larger instances, node pools, GPUs, NAT gateways or replicas are expected and budgeted.',
    '- [ ] **Rollback**: reverting this pull request restores the previous state (no one-way migration, no deleted data store).',
    '',
  ];
}

/**
 * The third-party GitHub Actions the generated workflows use, each pinned to the full commit
 * SHA of a release (a tag can be moved; a commit cannot), with the release in a comment so
 * that Dependabot or Renovate can propose updates.
 */
export interface PinnedAction {
  /** `owner/repo` */
  readonly repo: string;
  /** Full 40-character commit SHA of the release. */
  readonly sha: string;
  /** The release tag the SHA belongs to. */
  readonly version: string;
}

/** The pinned actions, by role. */
export const PINNED_ACTIONS = {
  checkout: { repo: 'actions/checkout', sha: '08eba0b27e820071cde6df949e0beb9ba4906955', version: 'v4.3.0' },
  setupNode: { repo: 'actions/setup-node', sha: '49933ea5288caeca8642d1e84afbd3f7d6820020', version: 'v4.4.0' },
  githubScript: { repo: 'actions/github-script', sha: '60a0d83039c74a4aee543508d2ffcb1c3799cdea', version: 'v7.0.1' },
  configureAwsCredentials: { repo: 'aws-actions/configure-aws-credentials', sha: 'b47578312673ae6fa5b5096b330d9fbac3d116df', version: 'v4.2.1' },
  setupTerraform: { repo: 'hashicorp/setup-terraform', sha: 'b9cd54a3c349d3f38e8881555d616ced269862dd', version: 'v3.1.2' },
  createPullRequest: { repo: 'peter-evans/create-pull-request', sha: '271a8d0340265f705b14b6d32b9829c1cb33d45e', version: 'v7.0.8' },
} as const satisfies Record<string, PinnedAction>;

/** `owner/repo@<sha>`: the value of a step's `uses`. */
export function uses(action: PinnedAction): string {
  return `${action.repo}@${action.sha}`;
}

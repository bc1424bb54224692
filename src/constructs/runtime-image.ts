import { DNS_1123_LABEL } from './errors';

/** The cdk-mlops release whose runtime image the constructs use by default. */
export const RUNTIME_VERSION = '0.1.0';
/** Where the project publishes the runtime image. */
export const DEFAULT_RUNTIME_REPOSITORY = 'ghcr.io/cdk-mlops/runtime';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPO_RE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/**
 * The one container image that runs every runtime command (`train`, `serve`, `monitor`,
 * `features`). Always pinned: by an immutable digest (recommended for production) or by a
 * version tag; `latest` and other floating tags are refused.
 */
export class RuntimeImage {
  /** The image of this cdk-mlops release (`ghcr.io/cdk-mlops/runtime:<version>`). */
  public static default(): RuntimeImage {
    return new RuntimeImage(DEFAULT_RUNTIME_REPOSITORY, RUNTIME_VERSION, undefined);
  }

  /** An image pinned by digest, e.g. `fromDigest('123.dkr.ecr.eu-west-1.amazonaws.com/mlops', 'sha256:...')`. */
  public static fromDigest(repository: string, digest: string, tag?: string): RuntimeImage {
    return new RuntimeImage(repository, tag, digest);
  }

  /** An image pinned by a version tag (not `latest`). Prefer `fromDigest` in production. */
  public static fromTag(repository: string, tag: string): RuntimeImage {
    return new RuntimeImage(repository, tag, undefined);
  }

  private constructor(
    public readonly repository: string,
    public readonly tag: string | undefined,
    public readonly digest: string | undefined,
  ) {}

  /** The reference a Pod uses: `repo:tag@sha256:...`, `repo@sha256:...` or `repo:tag`. */
  public get reference(): string {
    return `${this.repository}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }

  /** Problems with this image, as `[prop, expected]` pairs (empty when valid). */
  public problems(): string[] {
    const out: string[] = [];
    if (!REPO_RE.test(this.repository)) out.push(`repository "${this.repository}" must be a lower-case image repository (host[:port]/path)`);
    if (this.digest !== undefined && !DIGEST_RE.test(this.digest)) out.push(`digest "${this.digest}" must be sha256: followed by 64 hex digits`);
    if (this.tag !== undefined) {
      if (!TAG_RE.test(this.tag)) {out.push(`tag "${this.tag}" is not a valid image tag`);} else if (this.digest === undefined && (this.tag === 'latest' || DNS_1123_LABEL.test(this.tag) && !/\d/.test(this.tag))) {
        out.push(`tag "${this.tag}" floats; pin a version tag (e.g. 1.4.2) or a digest`);
      }
    }
    if (this.tag === undefined && this.digest === undefined) out.push('needs a tag or a digest');
    return out;
  }
}

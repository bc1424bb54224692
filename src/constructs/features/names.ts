import { shortHash } from '../platform';

/** Marks a `FeatureStore` (checked by the definitions without importing the class). */
export const FEATURE_STORE_SYMBOL = Symbol.for('cdk-mlops.FeatureStore');

/** A cron schedule of 5 fields, or one of the `@daily`-style macros Kubernetes accepts. */
export const CRON_RE = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/;

/** An IANA time zone name (`Etc/UTC`, `Europe/Paris`). */
export const TIME_ZONE_RE = /^[A-Za-z]+(\/[A-Za-z0-9_+-]+)*$/;

/**
 * A DNS-1123 name for a Kubernetes object from parts that may hold `_` or upper case (feature
 * view names), cut to `max` characters with a stable hash suffix when too long or when the
 * conversion lost information (so `Fraud_v2` and `fraud-v2` do not collide).
 */
export function kubeName(max: number, ...parts: string[]): string {
  const raw = parts.join('-');
  const clean = raw.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  const lossy = clean !== raw;
  if (!lossy && clean.length <= max) return clean;
  const hash = shortHash(raw);
  if (clean.length + hash.length + 1 <= max) return `${clean}-${hash}`;
  return `${clean.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** An IAM Sid fragment: letters and digits only, capitalised, hash-suffixed when characters were dropped. */
export function sidPart(name: string): string {
  const alnum = name.replace(/[^A-Za-z0-9]/g, '');
  const cased = alnum.charAt(0).toUpperCase() + alnum.slice(1);
  return alnum === name ? cased : `${cased}${shortHash(name).slice(0, 6)}`;
}

/** A relative offline path: segments of safe characters, no `.`/`..` segments, no leading `/`. */
export const RELATIVE_PATH_RE = /^[A-Za-z0-9_=.-]+(\/[A-Za-z0-9_=.-]+)*\/?$/;

/** `s3://bucket/prefix/` (a prefix, not a single object). */
export const S3_PREFIX_RE = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/([A-Za-z0-9!_.*'()=/-]+?)\/?$/;

/** A parsed IPv4 CIDR block. */
export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  readonly base: number;
  readonly prefix: number;
}

const CIDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * Parses an IPv4 CIDR block. Returns an error text (what is wrong) instead of throwing, so
 * that callers can collect several problems.
 */
export function parseCidr(text: string): Cidr | string {
  const m = CIDR_RE.exec(text);
  if (!m) return 'must be an IPv4 CIDR block like 10.0.0.0/16';
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return 'has an octet above 255';
  const prefix = Number(m[5]);
  if (prefix > 32) return 'has a prefix length above 32';
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & mask) >>> 0 !== addr) {
    return `has host bits set (the network address of /${prefix} is ${formatAddr((addr & mask) >>> 0)})`;
  }
  return { base: addr, prefix };
}

function formatAddr(a: number): string {
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}

/** Formats a CIDR block as text. */
export function formatCidr(c: Cidr): string {
  return `${formatAddr(c.base)}/${c.prefix}`;
}

/** True when the two blocks share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

/**
 * The `index`-th sub-block of `parent` with `newBits` more prefix bits, like Terraform's
 * `cidrsubnet(parent, newBits, index)`.
 */
export function cidrSubnet(parent: Cidr, newBits: number, index: number): Cidr {
  const prefix = parent.prefix + newBits;
  if (prefix > 32) throw new Error(`cidrSubnet: /${parent.prefix} + ${newBits} bits exceeds /32`);
  if (index < 0 || index >= 2 ** newBits) throw new Error(`cidrSubnet: index ${index} out of range for ${newBits} new bits`);
  const size = 2 ** (32 - prefix);
  return { base: (parent.base + index * size) >>> 0, prefix };
}

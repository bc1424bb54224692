/**
 * Kubernetes resource quantities (`250m`, `1.5`, `512Mi`, `2G`, `1e3`) as numbers, for the
 * synth-time arithmetic of quotas: CPU in cores, memory in bytes.
 */

const SUFFIXES: Readonly<Record<string, number>> = {
  '': 1,
  'n': 1e-9,
  'u': 1e-6,
  'm': 1e-3,
  'k': 1e3,
  'M': 1e6,
  'G': 1e9,
  'T': 1e12,
  'P': 1e15,
  'E': 1e18,
  'Ki': 2 ** 10,
  'Mi': 2 ** 20,
  'Gi': 2 ** 30,
  'Ti': 2 ** 40,
  'Pi': 2 ** 50,
  'Ei': 2 ** 60,
};

const QUANTITY_RE = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** The value of a quantity, or undefined when `s` is not one (or is negative). */
export function parseQuantity(s: string): number | undefined {
  if (typeof s !== 'string') return undefined;
  const m = QUANTITY_RE.exec(s.trim() === s ? s : '');
  if (!m) return undefined;
  const base = Number(m[1]);
  if (!Number.isFinite(base) || base < 0) return undefined;
  return m[3] !== undefined ? base * 10 ** Number(m[3]) : base * SUFFIXES[m[2] ?? ''];
}

/** CPU cores as a quantity: whole cores when exact, else millicores rounded up (`2`, `2500m`). */
export function formatCpu(cores: number): string {
  const milli = Math.ceil(Math.round(cores * 1e6) / 1e3);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Bytes as a quantity: whole Gi when exact, else Mi rounded up (`64Gi`, `1536Mi`). */
export function formatMemory(bytes: number): string {
  const mi = Math.ceil(bytes / 2 ** 20);
  return mi % 1024 === 0 ? `${mi / 1024}Gi` : `${mi}Mi`;
}

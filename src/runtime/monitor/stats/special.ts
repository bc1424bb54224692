/**
 * Special functions for the drift tests: log-gamma, the regularized incomplete gamma
 * function (chi-square and normal tails) and the distribution of the two-sided
 * Kolmogorov-Smirnov statistic (SciPy's `kstwo`), each written to agree with SciPy to
 * 1e-9 or better (see test/runtime/monitor/stats.test.ts and the fixtures it reads).
 *
 * The Kolmogorov-Smirnov distribution follows the algorithm selection of Simard & L'Ecuyer
 * (2011) exactly as SciPy's `scipy.stats._ksstats._kolmogn` does, so that the branch taken
 * for a given (n, d) is the same: Ruben-Gambino closed forms at the ends, Durbin's matrix
 * method (Marsaglia-Tsang-Wang), Pomeranz's recursion, the Pelz-Good asymptotic series, and
 * 2 x the one-sided Smirnov tail (Birnbaum-Tingey sum) in the upper tail.
 *
 * @packageDocumentation
 */

const LOG_SQRT_2PI = 0.9189385332046728; // ln(sqrt(2 pi))
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI * Math.PI;
const PI4 = PI2 * PI2;
const PI6 = PI4 * PI2;
const SQRT3 = Math.sqrt(3);

/** ln Gamma(x) for x > 0 (Stirling's series after shifting x to >= 10; ~1e-15 relative). */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  let shift = 0;
  let z = x;
  if (z < 10) {
    // ln Gamma(z) = ln Gamma(z + k) - ln(z (z+1) ... (z+k-1))
    let prod = 1;
    while (z < 10) {
      prod *= z;
      z += 1;
    }
    shift = Math.log(prod);
  }
  const r = 1 / z;
  const r2 = r * r;
  const series = r * (1 / 12 + r2 * (-1 / 360 + r2 * (1 / 1260 + r2 * (-1 / 1680 + r2 * (1 / 1188 + r2 * (-691 / 360360))))));
  return (z - 0.5) * Math.log(z) - z + LOG_SQRT_2PI + series - shift;
}

const EPS = 2.220446049250313e-16;
const TINY = 1e-300;

/**
 * Regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 - P(a, x), each computed
 * directly (series for x < a + 1, Lentz's continued fraction otherwise) so the small one
 * keeps its relative precision.
 */
export function regularizedGamma(a: number, x: number): { readonly p: number; readonly q: number } {
  if (!(a > 0) || Number.isNaN(x)) return { p: Number.NaN, q: Number.NaN };
  if (x <= 0) return { p: 0, q: 1 };
  if (x === Infinity) return { p: 1, q: 0 };
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let i = 0; i < 100000; i++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS * 0.5) break;
    }
    const p = sum * Math.exp(logPrefix);
    return { p, q: 1 - p };
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS * 0.5) break;
  }
  const q = Math.exp(logPrefix) * h;
  return { p: 1 - q, q };
}

/** Survival function of the chi-square distribution with `df` degrees of freedom (scipy.stats.chi2.sf). */
export function chi2Sf(x: number, df: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Infinity) return 0;
  return regularizedGamma(df / 2, x / 2).q;
}

/** Survival function of the standard normal distribution (scipy.stats.norm.sf). */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z >= 0) return 0.5 * regularizedGamma(0.5, (z * z) / 2).q;
  return 0.5 + 0.5 * regularizedGamma(0.5, (z * z) / 2).p;
}

function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

/**
 * One-sided Smirnov tail P(D+_n >= d) by the Birnbaum-Tingey sum, whose terms are all
 * positive: d * sum_{j=0}^{floor(n(1-d))} C(n,j) (d + j/n)^(j-1) (1 - d - j/n)^(n-j),
 * each term evaluated in logarithms.
 */
export function smirnovSf(n: number, d: number): number {
  if (!(n > 0) || !(d >= 0 && d <= 1)) return Number.NaN;
  if (d === 0) return 1;
  if (d === 1) return 0;
  const last = Math.floor(n * (1 - d));
  const logD = Math.log(d);
  // ln C(n, j), accumulated with Neumaier compensation: it grows to ~n ln 2, and plain
  // accumulation would lose ~1e-9 relative precision for n ~ 1e5.
  let logC = 0;
  let logCc = 0;
  let sum = 0;
  for (let j = 0; j <= last; j++) {
    const a = d + j / n;
    const b = 1 - a;
    if (b > 0) {
      const t = logC + logCc + (j - 1) * Math.log(a) + (n - j) * Math.log(b) + logD;
      if (t > -745) sum += Math.exp(t);
    } else if (j === n) {
      // (1 - d - 1)^0 = 1 by convention
      const t = logC + logCc + (j - 1) * Math.log(a) + logD;
      if (t > -745) sum += Math.exp(t);
    }
    const inc = Math.log(n - j) - Math.log(j + 1);
    const tot = logC + inc;
    logCc += Math.abs(logC) >= Math.abs(inc) ? logC - tot + inc : inc - tot + logC;
    logC = tot;
  }
  return clip01(sum);
}

/** n! / n^n in logarithms (Stirling, the form SciPy uses for n > 140). */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  const coeffs = [-2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
    -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2];
  let poly = 0;
  const y = rn / n;
  for (const c of coeffs) poly = poly * y + c;
  return Math.log(n) / 2 - n + Math.log(2 * Math.PI) / 2 + rn * poly;
}

const E128 = 2 ** 128;
const EM128 = 2 ** -128;

/** Durbin's matrix method (Marsaglia, Tsang & Wang 2003): P(D_n <= d). */
function kolmogDurbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const H = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)];
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];

  let P: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) P[i * m + i] = 1;
  let Hp: Float64Array = H;
  let nn = n;
  let expnt = 0;
  let hExpnt = 0;
  const mul = (A: Float64Array, B: Float64Array): Float64Array => {
    const C = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < m; l++) {
        const a = A[i * m + l];
        if (a === 0) continue;
        for (let j = 0; j < m; j++) C[i * m + j] += a * B[l * m + j];
      }
    }
    return C;
  };
  while (nn > 0) {
    if (nn % 2) {
      P = mul(P, Hp);
      expnt += hExpnt;
    }
    Hp = mul(Hp, Hp);
    hExpnt *= 2;
    if (Math.abs(Hp[(k - 1) * m + (k - 1)]) > E128) {
      for (let i = 0; i < Hp.length; i++) Hp[i] /= E128;
      hExpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = P[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p = p * 2 ** expnt;
  return clip01(p);
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pomeranz's recursion (1974): P(D_n <= x). */
function kolmogPomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gn = g / n;
  const g2n = (2 * g) / n;
  const om2gn = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1] * gn) / m;
    twogpower[m] = (twogpower[m - 1] * g2n) / m;
    onem2gpower[m] = (onem2gpower[m - 1] * om2gn) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    let j2: number;
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // conv = convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2]); keep conv[j1-k1 : j1-k1+len]
      const base = k1 - V0s;
      const aLen = Math.max(0, Math.min(ln2, npwrs - base));
      const bLen = Math.min(ln2, npwrs);
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      for (let c = 0; c < convLen; c++) {
        const idx = convStart + c; // index into the full convolution
        let s = 0;
        const lo = Math.max(0, idx - (bLen - 1));
        const hi = Math.min(idx, aLen - 1);
        for (let a = lo; a <= hi; a++) s += V0[base + a] * pwrs[idx - a];
        V1[c] = s;
      }
      let mx = 0;
      for (let c = 0; c < convLen; c++) if (V1[c] > mx) mx = V1[c];
      if (mx > 0 && mx < EM128) {
        for (let c = 0; c < npwrs; c++) V1[c] *= E128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > E128) {
      ans *= EM128;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ans * 2 ** expnt;
  return clip01(ans);
}

/** Pelz-Good asymptotic series (1976): P(D_n <= x). */
function kolmogPelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i] * qpower + coeffs[i];
  }
  const denoms = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT_2PI) / denoms[i];
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = SQRT3 * z;
  for (let k = maxk; k > 0; k--) {
    const ksq = k * k;
    const qp = q ** ksq;
    k2extra += ksq * qp;
    const kspi = Math.PI * k;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
  }
  K[2] += (k2extra * PI2 * SQRT_2PI) / (-36 * z3);
  K[3] += (k3extra * PI2 * SQRT_2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i] / n ** (i / 2);
  return sum;
}

/**
 * Survival function of the two-sided one-sample Kolmogorov-Smirnov statistic, P(D_n >= d)
 * (SciPy's `scipy.stats.kstwo.sf(d, n)`), with SciPy's choice of algorithm per region.
 */
export function kolmogorovSmirnovSf(n: number, d: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(d)) return Number.NaN;
  if (d >= 1) return 0;
  if (d <= 0) return 1;
  const t = n * d;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1 - d) ** n);
  if (d >= 0.5) return clip01(2 * smirnovSf(n, d));
  const nxsq = t * d;
  if (n <= 140) {
    if (nxsq <= 0.754693) return clip01(1 - kolmogDurbinCdf(n, d));
    if (nxsq <= 4) return clip01(1 - kolmogPomeranzCdf(n, d));
    return clip01(2 * smirnovSf(n, d));
  }
  if (nxsq >= 370) return 0;
  if (nxsq >= 2.2) return clip01(2 * smirnovSf(n, d));
  let cdf: number;
  if (nxsq >= 18) cdf = 1;
  else if (n <= 100000 && n * d ** 1.5 <= 1.4) cdf = kolmogDurbinCdf(n, d);
  else cdf = kolmogPelzGoodCdf(n, d);
  return clip01(1 - cdf);
}

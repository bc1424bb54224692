/**
 * Limited-memory BFGS for smooth unconstrained minimisation (Nocedal and Wright, Numerical
 * Optimization, 2nd ed.: Algorithm 7.4 two-loop recursion; Algorithms 3.5 and 3.6 strong-Wolfe
 * line search with safeguarded cubic interpolation). The stopping rules follow SciPy's
 * L-BFGS-B, which scikit-learn's `lbfgs` solver uses: the largest gradient component at most
 * `gtol`, or a relative decrease of the objective below `ftol`.
 */

/** Evaluates the objective at `x`, writes its gradient into `g`, returns the value. */
export type ObjectiveWithGradient = (x: Float64Array, g: Float64Array) => number;

export interface LbfgsOptions {
  /** Most iterations (each with one line search). */
  readonly maxIterations: number;
  /** Stop when max |g_i| <= gtol. */
  readonly gtol: number;
  /**
   * Stop when (f_prev - f) / max(|f_prev|, |f|, 1) <= ftol.
   * @default 2.220446049250313e-09 (SciPy's factr = 1e7 times machine epsilon)
   */
  readonly ftol?: number;
  /** Number of correction pairs kept. @default 10 */
  readonly memory?: number;
  /** Most objective evaluations per line search. @default 20 */
  readonly maxLineSearch?: number;
  /** Called after every iteration. */
  readonly onIteration?: (iteration: number, f: number, gradientMax: number) => void;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly f: number;
  readonly iterations: number;
  readonly evaluations: number;
  /** True when a stopping rule other than `maxIterations` (or a failed line search) ended it. */
  readonly converged: boolean;
  /** Why it stopped, in words. */
  readonly reason: string;
  /** Largest gradient component at `x`. */
  readonly gradientMax: number;
}

const C1 = 1e-4;
const C2 = 0.9;

function dot(a: Float64Array, b: Float64Array, n: number, ao = 0, bo = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

/** Minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN when there is none. */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - ((b - a) * (db + d2 - d1)) / (db - da + 2 * d2);
}

/** Minimises `fg` from `x0` (not modified). */
export function minimizeLbfgs(fg: ObjectiveWithGradient, x0: Float64Array, options: LbfgsOptions): LbfgsResult {
  const p = x0.length;
  const m = options.memory ?? 10;
  const ftol = options.ftol ?? 2.220446049250313e-9;
  const maxLs = options.maxLineSearch ?? 20;
  const S = new Float64Array(m * p);
  const Y = new Float64Array(m * p);
  const rho = new Float64Array(m);
  const alpha = new Float64Array(m);
  let stored = 0;
  let head = 0;

  let x = Float64Array.from(x0);
  let g = new Float64Array(p);
  let xt = new Float64Array(p);
  let gt = new Float64Array(p);
  const dir = new Float64Array(p);
  let evaluations = 1;
  let f = fg(x, g);
  if (!Number.isFinite(f)) throw new Error(`objective is ${f} at the starting point`);
  let gmax = maxAbs(g);
  if (gmax <= options.gtol) return { x, f, iterations: 0, evaluations, converged: true, reason: 'gradient below gtol at start', gradientMax: gmax };

  let iteration = 0;
  while (iteration < options.maxIterations) {
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < p; i++) dir[i] = -g[i];
    for (let k = 0; k < stored; k++) {
      const slot = (head - 1 - k + m) % m;
      const a = rho[slot] * dot(S, dir, p, slot * p, 0);
      alpha[slot] = a;
      for (let i = 0; i < p; i++) dir[i] -= a * Y[slot * p + i];
    }
    if (stored > 0) {
      const last = (head - 1 + m) % m;
      const gamma = dot(S, Y, p, last * p, last * p) / dot(Y, Y, p, last * p, last * p);
      for (let i = 0; i < p; i++) dir[i] *= gamma;
    }
    for (let k = stored - 1; k >= 0; k--) {
      const slot = (head - 1 - k + m) % m;
      const b = rho[slot] * dot(Y, dir, p, slot * p, 0);
      const c = alpha[slot] - b;
      for (let i = 0; i < p; i++) dir[i] += c * S[slot * p + i];
    }
    let dg0 = dot(g, dir, p);
    if (!(dg0 < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      stored = 0;
      for (let i = 0; i < p; i++) dir[i] = -g[i];
      dg0 = dot(g, dir, p);
    }
    const step0 = iteration === 0 && stored === 0 ? Math.min(1, 1 / Math.sqrt(dot(dir, dir, p))) : 1;

    // Strong-Wolfe line search.
    let lastF = f;
    const evalAt = (a: number): [number, number] => {
      for (let i = 0; i < p; i++) xt[i] = x[i] + a * dir[i];
      evaluations++;
      lastF = fg(xt, gt);
      return [lastF, dot(gt, dir, p)];
    };
    let accepted = false;
    let lsEvals = 0;
    let aPrev = 0;
    let fPrev = f;
    let dPrev = dg0;
    let a = step0;
    let lo = 0;
    let flo = f;
    let dlo = dg0;
    let hi = 0;
    let fhi = 0;
    let dhi = 0;
    let zoom = false;
    let bestA = 0;
    let bestF = f;
    while (lsEvals < maxLs) {
      if (zoom) {
        const width = hi - lo;
        let c = cubicMin(lo, flo, dlo, hi, fhi, dhi);
        const minC = Math.min(lo, hi) + 0.1 * Math.abs(width);
        const maxC = Math.max(lo, hi) - 0.1 * Math.abs(width);
        if (!Number.isFinite(c) || c < minC || c > maxC) c = lo + 0.5 * width;
        a = c;
      }
      const [fa, da] = evalAt(a);
      lsEvals++;
      if (Number.isFinite(fa) && fa < bestF) {
        bestF = fa;
        bestA = a;
      }
      if (!zoom) {
        if (!Number.isFinite(fa) || fa > f + C1 * a * dg0 || (lsEvals > 1 && fa >= fPrev)) {
          zoom = true;
          lo = aPrev; flo = fPrev; dlo = dPrev;
          hi = a; fhi = Number.isFinite(fa) ? fa : Number.MAX_VALUE; dhi = Number.isFinite(da) ? da : 0;
          continue;
        }
        if (Math.abs(da) <= -C2 * dg0) { accepted = true; break; }
        if (da >= 0) {
          zoom = true;
          lo = a; flo = fa; dlo = da;
          hi = aPrev; fhi = fPrev; dhi = dPrev;
          continue;
        }
        aPrev = a; fPrev = fa; dPrev = da;
        a *= 2;
      } else {
        if (!Number.isFinite(fa) || fa > f + C1 * a * dg0 || fa >= flo) {
          hi = a; fhi = Number.isFinite(fa) ? fa : Number.MAX_VALUE; dhi = Number.isFinite(da) ? da : 0;
        } else {
          if (Math.abs(da) <= -C2 * dg0) { accepted = true; break; }
          if (da * (hi - lo) >= 0) { hi = lo; fhi = flo; dhi = dlo; }
          lo = a; flo = fa; dlo = da;
        }
        if (Math.abs(hi - lo) <= 1e-16 * Math.max(1, Math.abs(lo))) break;
      }
    }
    if (!accepted) {
      if (bestA === 0) {
        return { x, f, iterations: iteration, evaluations, converged: false, reason: 'line search found no decrease', gradientMax: gmax };
      }
      // Take the best point seen (sufficient decrease without the curvature condition).
      evalAt(bestA);
    }
    // Update the correction pairs.
    const slot = head;
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < p; i++) {
      const s = xt[i] - x[i];
      const y = gt[i] - g[i];
      S[slot * p + i] = s;
      Y[slot * p + i] = y;
      sy += s * y;
      yy += y * y;
    }
    if (sy > Number.EPSILON * yy) {
      rho[slot] = 1 / sy;
      head = (head + 1) % m;
      stored = Math.min(stored + 1, m);
    }
    const fOld = f;
    [x, xt] = [xt, x];
    [g, gt] = [gt, g];
    f = lastF;
    iteration++;
    gmax = maxAbs(g);
    options.onIteration?.(iteration, f, gmax);
    if (gmax <= options.gtol) return { x, f, iterations: iteration, evaluations, converged: true, reason: 'gradient below gtol', gradientMax: gmax };
    if ((fOld - f) <= ftol * Math.max(Math.abs(fOld), Math.abs(f), 1)) {
      return { x, f, iterations: iteration, evaluations, converged: true, reason: 'relative decrease below ftol', gradientMax: gmax };
    }
  }
  return { x, f, iterations: iteration, evaluations, converged: false, reason: `stopped after maxIterations (${options.maxIterations})`, gradientMax: gmax };
}

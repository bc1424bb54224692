import { minimizeLbfgs } from '../../../../src/runtime/train/trainers/lbfgs';

describe('L-BFGS', () => {
  it('finds the minimum of the Rosenbrock function from the classic start (-1.2, 1)', () => {
    const r = minimizeLbfgs((x, g) => {
      const [a, b] = x;
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    }, Float64Array.of(-1.2, 1), { maxIterations: 200, gtol: 1e-10, ftol: 0 });
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(1, 7);
    expect(r.x[1]).toBeCloseTo(1, 7);
    expect(r.iterations).toBeLessThan(60);
  });

  it('solves an ill-conditioned quadratic to the gradient tolerance', () => {
    const p = 20;
    const scale = Float64Array.from({ length: p }, (_, i) => 10 ** (i / 5)); // condition number 1e4 ... 10^3.8
    const target = Float64Array.from({ length: p }, (_, i) => Math.sin(i));
    const r = minimizeLbfgs((x, g) => {
      let f = 0;
      for (let i = 0; i < p; i++) {
        const dx = x[i] - target[i];
        f += 0.5 * scale[i] * dx * dx;
        g[i] = scale[i] * dx;
      }
      return f;
    }, new Float64Array(p), { maxIterations: 500, gtol: 1e-9, ftol: 0 });
    expect(r.reason).toBe('gradient below gtol');
    for (let i = 0; i < p; i++) expect(Math.abs(r.x[i] - target[i]) * scale[i]).toBeLessThanOrEqual(1e-9);
  });

  it('stops at maxIterations and says so', () => {
    let calls = 0;
    const r = minimizeLbfgs((x, g) => {
      calls++;
      g[0] = 4 * x[0] ** 3;
      return x[0] ** 4;
    }, Float64Array.of(3), { maxIterations: 3, gtol: 1e-300, ftol: 0 });
    expect(r.converged).toBe(false);
    expect(r.iterations).toBe(3);
    expect(r.reason).toBe('stopped after maxIterations (3)');
    expect(r.evaluations).toBe(calls);
  });

  it('returns at once when the start is already optimal', () => {
    const r = minimizeLbfgs((x, g) => { g[0] = 2 * x[0]; return x[0] ** 2; }, Float64Array.of(0), { maxIterations: 10, gtol: 1e-8 });
    expect(r).toMatchObject({ iterations: 0, evaluations: 1, converged: true });
  });
});

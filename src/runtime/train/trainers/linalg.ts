/**
 * Dense linear algebra the trainers need: a Cholesky solve of a small symmetric positive
 * definite system.
 */

/**
 * Solves `A x = b` for a symmetric positive definite `A` (row-major p x p; only the lower
 * triangle is read). Returns `undefined` when a pivot is not positive enough
 * (`<= relativeTolerance * max diagonal`): the matrix is singular or nearly so.
 */
export function choleskySolve(A: Float64Array, b: Float64Array, p: number, relativeTolerance = 1e-12): Float64Array | undefined {
  const L = new Float64Array(p * p);
  let maxDiag = 0;
  for (let i = 0; i < p; i++) maxDiag = Math.max(maxDiag, A[i * p + i]);
  const floor = relativeTolerance * maxDiag;
  for (let j = 0; j < p; j++) {
    let s = A[j * p + j];
    for (let k = 0; k < j; k++) s -= L[j * p + k] * L[j * p + k];
    if (!(s > floor) || s <= 0) return undefined;
    const ljj = Math.sqrt(s);
    L[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let t = A[i * p + j];
      for (let k = 0; k < j; k++) t -= L[i * p + k] * L[j * p + k];
      L[i * p + j] = t / ljj;
    }
  }
  // Forward then back substitution.
  const z = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let t = b[i];
    for (let k = 0; k < i; k++) t -= L[i * p + k] * z[k];
    z[i] = t / L[i * p + i];
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let t = z[i];
    for (let k = i + 1; k < p; k++) t -= L[k * p + i] * x[k];
    x[i] = t / L[i * p + i];
  }
  return x;
}

// Optimiser kernels: global gradient norm, clip coefficient, fused AdamW.

import type { AdamWHyper, FloatArray } from "../../tensor/backend.js";

export function sumSquaresKernel(xs: readonly FloatArray[]): number {
  let s = 0;
  for (const x of xs) {
    let t = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      t += v * v;
    }
    s += t;
  }
  return s;
}

/** min(1, maxNorm/(sqrt(s)+1e-6)); 0 if s is not finite; 1 if maxNorm ≤ 0 (and s finite) */
export function clipCoefficientValue(s: number, maxNorm: number): number {
  if (!Number.isFinite(s)) return 0;
  if (!(maxNorm > 0)) return 1;
  return Math.min(1, maxNorm / (Math.sqrt(s) + 1e-6));
}

/**
 * Decoupled-weight-decay Adam, in place:
 *   g = grad·coef; m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
 *   p −= lr·(m̂/(sqrt(v̂)+eps) + wd·p), with m̂ = m/(1−β1^step), v̂ = v/(1−β2^step).
 * coef = 0 leaves everything unchanged.
 */
export function adamwKernel(
  p: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, h: AdamWHyper, coef: number,
): void {
  if (coef === 0) return;
  const { lr, beta1, beta2, eps, weightDecay } = h;
  const bc1 = 1 - Math.pow(beta1, h.step);
  const bc2 = 1 - Math.pow(beta2, h.step);
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! * coef;
    const mi = beta1 * m[i]! + (1 - beta1) * g;
    const vi = beta2 * v[i]! + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const pi = p[i]!;
    p[i] = pi - lr * (mi / bc1 / (Math.sqrt(vi / bc2) + eps) + weightDecay * pi);
  }
}

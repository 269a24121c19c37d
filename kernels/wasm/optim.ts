// Optimiser kernels: the sum of squares of a tensor (for the global gradient norm)
// and the fused AdamW update.

/** Σ x², accumulated in float64 (two f64x2 sums, added at the end) */
export function sumSquares(x: usize, n: i32): f64 {
  let lo = f64x2.splat(0), hi = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const a = f64x2.promote_low_f32x4(v);
    const b = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    lo = f64x2.add(lo, f64x2.mul(a, a));
    hi = f64x2.add(hi, f64x2.mul(b, b));
  }
  let s = f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1) + f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    s += v * v;
  }
  return s;
}

/**
 * Decoupled-weight-decay Adam, in place:
 *   g = grad·coef; m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
 *   p −= lr·(m/bc1 / (sqrt(v/bc2) + eps) + wd·p), with bc1 = 1−β1^step, bc2 = 1−β2^step.
 */
export function adamw(
  p: usize, grad: usize, m: usize, v: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32, coef: f32,
): void {
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(1 - beta1);
  const b2 = f32x4.splat(beta2), c2 = f32x4.splat(1 - beta2);
  const lrv = f32x4.splat(lr), wdv = f32x4.splat(wd), epsv = f32x4.splat(eps);
  const bc1v = f32x4.splat(bc1), bc2v = f32x4.splat(bc2), cv = f32x4.splat(coef);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = f32x4.mul(v128.load(grad + o), cv);
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, g));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(f32x4.mul(c2, g), g));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const pi = v128.load(p + o);
    const step = f32x4.add(f32x4.div(f32x4.div(mi, bc1v), f32x4.add(f32x4.sqrt(f32x4.div(vi, bc2v)), epsv)), f32x4.mul(wdv, pi));
    v128.store(p + o, f32x4.sub(pi, f32x4.mul(lrv, step)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(grad + o) * coef;
    const mi = beta1 * load<f32>(m + o) + (1 - beta1) * g;
    const vi = beta2 * load<f32>(v + o) + (1 - beta2) * g * g;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    const pi = load<f32>(p + o);
    store<f32>(p + o, pi - lr * (mi / bc1 / (Mathf.sqrt(vi / bc2) + eps) + wd * pi));
  }
}

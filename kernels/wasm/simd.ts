// Small SIMD helpers shared by the CPU kernels: a vectorised exp, dot products and
// "y += a·x" on rows of f32. A v128 holds four f32 lanes; every helper handles the
// last n % 4 elements with the same vector code on a partly filled vector, so a
// row's tail gets exactly the same arithmetic as its body.
//
// Summation order is fixed (four lane sums, then lanes 0+1+2+3), so a kernel gives
// the same bits every time it runs, on any machine.

// exp(x) = 2^n · exp(r), with n = round(x / ln 2) and |r| ≤ ln(2)/2, and exp(r) from
// Cephes' degree-6 polynomial (relative error about 1e-7, float32's own precision).
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375; // ln 2 split in two, so n·ln2 is exact enough
const LN2_LO: f32 = -2.12194440e-4;
const EXP_MAX: f32 = 88.3762626647949; // above: +Infinity (float32 overflows near 88.72)
const EXP_MIN: f32 = -87.3365447505531; // below: 0 (float32's smallest normal is e^-87.34)

// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  const over = f32x4.gt(x, f32x4.splat(EXP_MAX));
  const under = f32x4.lt(x, f32x4.splat(EXP_MIN));
  const xc = f32x4.max(f32x4.min(x, f32x4.splat(EXP_MAX)), f32x4.splat(EXP_MIN)); // NaN stays NaN
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n built directly as a float's exponent bits
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  const e = f32x4.mul(y, pow2n);
  return v128.andnot(v128.bitselect(f32x4.splat(Infinity), e, over), under);
}

/** exp of one value through the same code as exp4 */
// @ts-ignore: decorator
@inline export function expf1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

/** lanes 0 + 1 + 2 + 3, in that order */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** the largest lane (NaN if any lane is NaN) */
// @ts-ignore: decorator
@inline export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** load the first `left` (1–3) floats at p into a vector, zeros elsewhere */
// @ts-ignore: decorator
@inline export function loadTail(p: usize, left: i32): v128 {
  let v = v128.load32_zero(p);
  if (left > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (left > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** store the first `left` (1–3) lanes of v at p */
// @ts-ignore: decorator
@inline export function storeTail(p: usize, v: v128, left: i32): void {
  v128.store32_lane(p, v, 0);
  if (left > 1) v128.store32_lane(p, v, 1, 4);
  if (left > 2) v128.store32_lane(p, v, 2, 8);
}

/** Σ x[d]·y[d] for d < n */
export function dot(x: usize, y: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= n; d += 4) {
    acc = f32x4.add(acc, f32x4.mul(v128.load(x + (<usize>d << 2)), v128.load(y + (<usize>d << 2))));
  }
  if (d < n) {
    acc = f32x4.add(acc, f32x4.mul(loadTail(x + (<usize>d << 2), n - d), loadTail(y + (<usize>d << 2), n - d)));
  }
  return hsum(acc);
}

/** y[d] += a·x[d] for d < n */
export function axpy(y: usize, a: f32, x: usize, n: i32): void {
  const av = f32x4.splat(a);
  let d = 0;
  for (; d + 4 <= n; d += 4) {
    const yp = y + (<usize>d << 2);
    v128.store(yp, f32x4.add(v128.load(yp), f32x4.mul(av, v128.load(x + (<usize>d << 2)))));
  }
  if (d < n) {
    const yp = y + (<usize>d << 2);
    const left = n - d;
    storeTail(yp, f32x4.add(loadTail(yp, left), f32x4.mul(av, loadTail(x + (<usize>d << 2), left))), left);
  }
}

/** n floats at p set to zero */
export function zero(p: usize, n: i32): void {
  memory.fill(p, 0, <usize>n << 2);
}

// Row kernels over the last axis: softmax, log-softmax, fused cross-entropy,
// RMSNorm, and their backward rules. Each row is read with v128 loads; the
// n % 4 elements at a row's end go through the scalar versions of the same math.

import { exp4, expf1, hmax, hsum, loadTail, storeTail } from "./simd";

/** the largest element of a row (NaN if any is NaN) */
function rowMax(x: usize, n: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = f32x4.max(m, v128.load(x + (<usize>i << 2)));
  let s = hmax(m);
  for (; i < n; i++) s = max(s, load<f32>(x + (<usize>i << 2)));
  return s;
}

/** Σ exp(x[i] − shift) */
function rowSumExp(x: usize, n: i32, shift: f32): f32 {
  const sv = f32x4.splat(shift);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, exp4(f32x4.sub(v128.load(x + (<usize>i << 2)), sv)));
  let s = hsum(acc);
  for (; i < n; i++) s += expf1(load<f32>(x + (<usize>i << 2)) - shift);
  return s;
}

/** out[i] = exp(x[i] − shift)·scale */
function rowExpScale(x: usize, n: i32, shift: f32, scale: f32, out: usize): void {
  const sv = f32x4.splat(shift);
  const kv = f32x4.splat(scale);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(exp4(f32x4.sub(v128.load(x + o), sv)), kv));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storeTail(out + o, f32x4.mul(exp4(f32x4.sub(loadTail(x + o, n - i), sv)), kv), n - i);
  }
}

/** m + log Σ exp(x − m): the log-sum-exp of a row, with m its max (log in float64) */
function rowLogSumExp(x: usize, n: i32): f32 {
  const m = rowMax(x, n);
  return m + <f32>Math.log(<f64>rowSumExp(x, n, m));
}

export function softmax(x: usize, rows: i32, n: i32, out: usize, log: bool): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>r * n << 2);
    const or = out + (<usize>r * n << 2);
    if (log) {
      const lse = f32x4.splat(rowLogSumExp(xr, n));
      let i = 0;
      for (; i + 4 <= n; i += 4) v128.store(or + (<usize>i << 2), f32x4.sub(v128.load(xr + (<usize>i << 2)), lse));
      if (i < n) storeTail(or + (<usize>i << 2), f32x4.sub(loadTail(xr + (<usize>i << 2), n - i), lse), n - i);
    } else {
      const m = rowMax(xr, n);
      rowExpScale(xr, n, m, 1 / rowSumExp(xr, n, m), or);
    }
  }
}

/** softmax: dx = y ⊙ (dy − Σ dy⊙y); log-softmax: dx = dy − exp(y)·Σ dy */
export function softmaxBackward(y: usize, dy: usize, rows: i32, n: i32, out: usize, log: bool): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * n << 2;
    const yr = y + off, gr = dy + off, or = out + off;
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const g = v128.load(gr + (<usize>i << 2));
      acc = f32x4.add(acc, log ? g : f32x4.mul(g, v128.load(yr + (<usize>i << 2))));
    }
    if (i < n) {
      const g = loadTail(gr + (<usize>i << 2), n - i);
      acc = f32x4.add(acc, log ? g : f32x4.mul(g, loadTail(yr + (<usize>i << 2), n - i)));
    }
    const s = f32x4.splat(hsum(acc));
    for (i = 0; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const yv = v128.load(yr + o), g = v128.load(gr + o);
      v128.store(or + o, log ? f32x4.sub(g, f32x4.mul(exp4(yv), s)) : f32x4.mul(yv, f32x4.sub(g, s)));
    }
    if (i < n) {
      const o = <usize>i << 2;
      const yv = loadTail(yr + o, n - i), g = loadTail(gr + o, n - i);
      storeTail(or + o, log ? f32x4.sub(g, f32x4.mul(exp4(yv), s)) : f32x4.mul(yv, f32x4.sub(g, s)), n - i);
    }
  }
}

/** loss[r] = mask[r]·(lse[r] − logits[r, t_r]); mask = 0 means "no mask" */
export function crossEntropy(logits: usize, targets: usize, mask: usize, rows: i32, V: i32, loss: usize, lse: usize): void {
  for (let r = 0; r < rows; r++) {
    const xr = logits + (<usize>r * V << 2);
    const l = rowLogSumExp(xr, V);
    store<f32>(lse + (<usize>r << 2), l);
    const w: f32 = mask ? load<f32>(mask + (<usize>r << 2)) : 1;
    const t = load<i32>(targets + (<usize>r << 2));
    store<f32>(loss + (<usize>r << 2), w * (l - load<f32>(xr + (<usize>t << 2))));
  }
}

/** dlogits[r, v] = dloss[r]·mask[r]·(exp(logits[r, v] − lse[r]) − [v = t_r]) */
export function crossEntropyBackward(
  logits: usize, targets: usize, mask: usize, lse: usize, dloss: usize, rows: i32, V: i32, out: usize,
): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * V << 2;
    const w: f32 = mask ? load<f32>(mask + (<usize>r << 2)) : 1;
    const g = load<f32>(dloss + (<usize>r << 2)) * w;
    const l = load<f32>(lse + (<usize>r << 2));
    rowExpScale(logits + off, V, l, g, out + off);
    const t = <usize>load<i32>(targets + (<usize>r << 2)) << 2;
    store<f32>(out + off + t, g * (expf1(load<f32>(logits + off + t) - l) - 1));
  }
}

/** rstd[r] = 1/sqrt(mean x[r]² + eps); y = x·rstd·w */
export function rmsnorm(x: usize, w: usize, eps: f32, rows: i32, D: i32, y: usize, rstd: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * D << 2;
    const xr = x + off, yr = y + off;
    let acc = f32x4.splat(0);
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      const v = v128.load(xr + (<usize>d << 2));
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    if (d < D) {
      const v = loadTail(xr + (<usize>d << 2), D - d);
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    const rs = <f32>(1 / Math.sqrt(<f64>hsum(acc) / D + eps));
    store<f32>(rstd + (<usize>r << 2), rs);
    const rv = f32x4.splat(rs);
    for (d = 0; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      v128.store(yr + o, f32x4.mul(f32x4.mul(v128.load(xr + o), rv), v128.load(w + o)));
    }
    if (d < D) {
      const o = <usize>d << 2;
      storeTail(yr + o, f32x4.mul(f32x4.mul(loadTail(xr + o, D - d), rv), loadTail(w + o, D - d)), D - d);
    }
  }
}

/**
 * dx = rstd·(w⊙dy) − x·rstd³·mean(x⊙w⊙dy);  dw = Σ_rows dy⊙x·rstd
 * (dw is summed row by row in order, in place in the output)
 */
export function rmsnormBackward(x: usize, w: usize, rstd: usize, dy: usize, rows: i32, D: i32, dx: usize, dw: usize): void {
  memory.fill(dw, 0, <usize>D << 2);
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * D << 2;
    const xr = x + off, gr = dy + off, dxr = dx + off;
    const rs = load<f32>(rstd + (<usize>r << 2));
    let acc = f32x4.splat(0);
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      acc = f32x4.add(acc, f32x4.mul(f32x4.mul(v128.load(xr + o), v128.load(w + o)), v128.load(gr + o)));
    }
    if (d < D) {
      const o = <usize>d << 2;
      const left = D - d;
      acc = f32x4.add(acc, f32x4.mul(f32x4.mul(loadTail(xr + o, left), loadTail(w + o, left)), loadTail(gr + o, left)));
    }
    const c = f32x4.splat(rs * rs * rs * (hsum(acc) / <f32>D));
    const rv = f32x4.splat(rs);
    for (d = 0; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      const xv = v128.load(xr + o), g = v128.load(gr + o);
      v128.store(dxr + o, f32x4.sub(f32x4.mul(f32x4.mul(rv, v128.load(w + o)), g), f32x4.mul(xv, c)));
      v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(f32x4.mul(g, xv), rv)));
    }
    if (d < D) {
      const o = <usize>d << 2;
      const left = D - d;
      const xv = loadTail(xr + o, left), g = loadTail(gr + o, left);
      storeTail(dxr + o, f32x4.sub(f32x4.mul(f32x4.mul(rv, loadTail(w + o, left)), g), f32x4.mul(xv, c)), left);
      storeTail(dw + o, f32x4.add(loadTail(dw + o, left), f32x4.mul(f32x4.mul(g, xv), rv)), left);
    }
  }
}

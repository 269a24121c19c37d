// Reductions: reduce over one axis (kept with size 1) and sumTo (the gradient of
// broadcasting). Sums accumulate in float64.

import type { FloatArray, ReduceOp, Shape } from "../../tensor/backend.js";
import { coalesce } from "../../tensor/strides.js";

/** x viewed as [outer, n, inner]; out is [outer, 1, inner] */
export function reduceKernel(op: ReduceOp, x: FloatArray, outer: number, n: number, inner: number, out: FloatArray): void {
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const base = o * n;
      switch (op) {
        case "sum":
        case "mean": {
          let s = 0;
          for (let i = 0; i < n; i++) s += x[base + i]!;
          out[o] = op === "mean" ? s / n : s;
          break;
        }
        case "max": {
          let m = -Infinity;
          for (let i = 0; i < n; i++) {
            const v = x[base + i]!;
            if (v > m || v !== v) m = v; // NaN propagates
            if (m !== m) break;
          }
          out[o] = m;
          break;
        }
      }
    }
    return;
  }
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    switch (op) {
      case "sum":
      case "mean": {
        acc.fill(0);
        for (let i = 0; i < n; i++) {
          const row = base + i * inner;
          for (let j = 0; j < inner; j++) acc[j] += x[row + j]!;
        }
        for (let j = 0; j < inner; j++) out[o * inner + j] = op === "mean" ? acc[j]! / n : acc[j]!;
        break;
      }
      case "max": {
        acc.fill(-Infinity);
        for (let i = 0; i < n; i++) {
          const row = base + i * inner;
          for (let j = 0; j < inner; j++) {
            const v = x[row + j]!;
            if (v > acc[j]! || v !== v) acc[j] = v;
          }
        }
        for (let j = 0; j < inner; j++) out[o * inner + j] = acc[j]!;
        break;
      }
    }
  }
}

/**
 * out (shape `to`, left-padded to x's rank) = x summed over the axes where `to`
 * has size 1 and x does not. Shapes are checked by the caller.
 */
export function sumToKernel(x: FloatArray, xShape: Shape, to: Shape, out: FloatArray): void {
  const r = xShape.length;
  const padded = new Array<number>(r - to.length).fill(1).concat(to);
  // output strides over x's index space: 0 on the summed axes
  const os = new Array<number>(r).fill(0);
  let accStride = 1;
  for (let i = r - 1; i >= 0; i--) {
    os[i] = padded[i] === 1 ? 0 : accStride;
    accStride *= padded[i]!;
  }
  const xs = new Array<number>(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    xs[i] = s;
    s *= xShape[i]!;
  }
  const c = coalesce(xShape, [xs, os]);
  const shape = c.shape;
  const sx = c.strides[0]!;
  const so = c.strides[1]!;
  const rank = shape.length;
  const inner = shape[rank - 1]!;
  const sxIn = sx[rank - 1]!;
  const soIn = so[rank - 1]!;
  const acc = new Float64Array(out.length);
  const idx = new Array<number>(rank).fill(0);
  const total = x.length;
  let xi = 0;
  let oi = 0;
  for (let done = 0; done < total; done += inner) {
    if (soIn === 0) {
      let t = 0;
      for (let j = 0; j < inner; j++) t += x[xi + j * sxIn]!;
      acc[oi] += t;
    } else {
      for (let j = 0; j < inner; j++) acc[oi + j * soIn] += x[xi + j * sxIn]!;
    }
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]!++;
      xi += sx[ax]!;
      oi += so[ax]!;
      if (idx[ax]! < shape[ax]!) break;
      xi -= sx[ax]! * shape[ax]!;
      oi -= so[ax]! * shape[ax]!;
      idx[ax] = 0;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = acc[i]!;
}

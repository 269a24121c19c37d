// Layout kernels: permute, slice, concat, writeSlice. They work on any dtype.

import type { HostArray, Shape } from "../../tensor/backend.js";
import { coalesce } from "../../tensor/strides.js";

/** out.shape[i] = shape[perm[i]]; out contiguous */
export function permuteKernel(x: HostArray, shape: Shape, perm: readonly number[], out: HostArray): void {
  const r = shape.length;
  const inStrides = new Array<number>(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const strides = perm.map((p) => inStrides[p]!);
  const c = coalesce(outShape, [strides]);
  const cs = c.shape;
  const st = c.strides[0]!;
  const rank = cs.length;
  const inner = cs[rank - 1]!;
  const sIn = st[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  let xi = 0;
  for (let oi = 0; oi < out.length; oi += inner) {
    if (sIn === 1) {
      for (let j = 0; j < inner; j++) out[oi + j] = x[xi + j]!;
    } else {
      for (let j = 0; j < inner; j++) out[oi + j] = x[xi + j * sIn]!;
    }
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]!++;
      xi += st[ax]!;
      if (idx[ax]! < cs[ax]!) break;
      xi -= st[ax]! * cs[ax]!;
      idx[ax] = 0;
    }
  }
}

/**
 * Copy a [outer, len, inner] block between two arrays that are both viewed as
 * [outer, n, inner] with their own n along the middle axis.
 */
export function copyAxisBlock(
  src: HostArray, srcN: number, srcStart: number,
  dst: HostArray, dstN: number, dstStart: number,
  outer: number, len: number, inner: number,
): void {
  const chunk = len * inner;
  for (let o = 0; o < outer; o++) {
    const s = (o * srcN + srcStart) * inner;
    const d = (o * dstN + dstStart) * inner;
    if (chunk > 64) {
      dst.set(src.subarray(s, s + chunk), d);
    } else {
      for (let i = 0; i < chunk; i++) dst[d + i] = src[s + i]!;
    }
  }
}

/** sizes before and after `axis` */
export function splitAt(shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, n: shape[axis]!, inner };
}

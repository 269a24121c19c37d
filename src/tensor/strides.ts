// Index arithmetic shared by both backends: broadcasting strides, axis coalescing
// and the checks of an in-place slice write. Keeping one copy keeps the CPU twin
// and the GPU ops agreeing on what a valid argument is.
import { DTypeError, ShapeError, fmtShape, normAxis, type RawTensor, type Shape } from "./backend.js";

/**
 * Strides (in elements) of a contiguous tensor of `shape` when it is broadcast to
 * `outShape` (left-padded with 1s; broadcast axes get stride 0).
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const r = outShape.length;
  const s = new Array<number>(r).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    const oi = r - shape.length + i;
    s[oi] = d === 1 && outShape[oi] !== 1 ? 0 : acc;
    acc *= d;
  }
  return s;
}

/**
 * Fewer axes mean less index arithmetic per element: drop size-1 axes and merge
 * neighbours that every stride list walks contiguously (stride[i] = stride[i+1]·n[i+1]).
 * Returns the coalesced shape and one stride list per operand; always at least one axis.
 */
export function coalesce(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const n = shape[i]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[i]! * n)) {
      outShape[last] = outShape[last]! * n;
      for (let k = 0; k < strides.length; k++) outStrides[k]![last] = strides[k]![i]!;
    } else {
      outShape.push(n);
      for (let k = 0; k < strides.length; k++) outStrides[k]!.push(strides[k]![i]!);
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    for (const s of outStrides) s.push(0);
  }
  return { shape: outShape, strides: outStrides };
}

/** Checks of writeSlice(dst, src, axis, start); returns the axis, the slice length and the axis size. */
export function checkWriteSlice(dst: RawTensor, src: RawTensor, axis: number, start: number): { ax: number; len: number; n: number } {
  if (dst.dtype !== src.dtype) {
    throw new DTypeError(`writeSlice: dst ${dst.dtype} ${fmtShape(dst.shape)} and src ${src.dtype} ${fmtShape(src.shape)} have different dtypes`);
  }
  const ax = normAxis("writeSlice", axis, dst.shape.length);
  const len = src.shape[ax] ?? -1;
  const ok = src.shape.length === dst.shape.length && src.shape.every((d, i) => i === ax || d === dst.shape[i]);
  if (!ok) throw new ShapeError(`writeSlice: src ${fmtShape(src.shape)} does not fit dst ${fmtShape(dst.shape)} along axis ${ax}`);
  const n = dst.shape[ax]!;
  if (!Number.isInteger(start) || start < 0 || start + len > n) {
    throw new ShapeError(`writeSlice: src ${fmtShape(src.shape)} at ${start} overruns dst ${fmtShape(dst.shape)} along axis ${ax} (size ${n})`);
  }
  return { ax, len, n };
}

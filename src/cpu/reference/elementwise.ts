// Elementwise kernels: broadcasting binary ops, affine, unary ops and their
// derivatives. Every kernel switches on the op once, outside its loops.

import type { BinaryOp, FloatArray, Shape, UnaryOp } from "../../tensor/backend.js";
import { broadcastStrides, coalesce } from "../../tensor/strides.js";

/** √(2/π), the constant of the tanh approximation of GELU */
export const GELU_C = Math.sqrt(2 / Math.PI);
export const GELU_A = 0.044715;



function binaryRow(
  op: BinaryOp, a: FloatArray, ai: number, sa: number, b: FloatArray, bi: number, sb: number,
  out: FloatArray, oi: number, n: number,
): void {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) out[oi + i] = a[ai + i * sa]! + b[bi + i * sb]!;
      return;
    case "sub":
      for (let i = 0; i < n; i++) out[oi + i] = a[ai + i * sa]! - b[bi + i * sb]!;
      return;
    case "mul":
      for (let i = 0; i < n; i++) out[oi + i] = a[ai + i * sa]! * b[bi + i * sb]!;
      return;
    case "div":
      for (let i = 0; i < n; i++) out[oi + i] = a[ai + i * sa]! / b[bi + i * sb]!;
      return;
    case "min": // Math.min/max return NaN when either input is NaN
      for (let i = 0; i < n; i++) out[oi + i] = Math.min(a[ai + i * sa]!, b[bi + i * sb]!);
      return;
    case "max":
      for (let i = 0; i < n; i++) out[oi + i] = Math.max(a[ai + i * sa]!, b[bi + i * sb]!);
      return;
    case "ge": // a comparison with NaN is false: 0
      for (let i = 0; i < n; i++) out[oi + i] = a[ai + i * sa]! >= b[bi + i * sb]! ? 1 : 0;
      return;
  }
}

/** out = a ∘ b with numpy broadcasting; out is contiguous with shape outShape */
export function binaryKernel(
  op: BinaryOp, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, out: FloatArray, outShape: Shape,
): void {
  const n = out.length;
  if (n === 0) return;
  if (a.length === n && b.length === n) {
    binaryRow(op, a, 0, 1, b, 0, 1, out, 0, n);
    return;
  }
  const c = coalesce(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  const shape = c.shape;
  const sa = c.strides[0]!;
  const sb = c.strides[1]!;
  const r = shape.length;
  const inner = shape[r - 1]!;
  const saIn = sa[r - 1]!;
  const sbIn = sb[r - 1]!;
  const idx = new Array<number>(r).fill(0);
  let ai = 0;
  let bi = 0;
  for (let oi = 0; oi < n; oi += inner) {
    binaryRow(op, a, ai, saIn, b, bi, sbIn, out, oi, inner);
    // advance the odometer over the outer axes
    for (let ax = r - 2; ax >= 0; ax--) {
      idx[ax]!++;
      ai += sa[ax]!;
      bi += sb[ax]!;
      if (idx[ax]! < shape[ax]!) break;
      ai -= sa[ax]! * shape[ax]!;
      bi -= sb[ax]! * shape[ax]!;
      idx[ax] = 0;
    }
  }
}

export function affineKernel(x: FloatArray, alpha: number, beta: number, out: FloatArray): void {
  for (let i = 0; i < x.length; i++) out[i] = alpha * x[i]! + beta;
}

export function unaryKernel(op: UnaryOp, x: FloatArray, out: FloatArray): void {
  const n = x.length;
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) out[i] = -x[i]!;
      return;
    case "exp":
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!);
      return;
    case "log":
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!);
      return;
    case "tanh":
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]!);
      return;
    case "silu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v * sigmoid(v);
      }
      return;
    case "gelu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + GELU_A * v * v * v)));
      }
      return;
    case "relu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v > 0 ? v : 0;
      }
      return;
    case "sqrt":
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
      return;
    case "rsqrt":
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]!);
      return;
    case "square":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v * v;
      }
      return;
  }
}

/** dx = f'(x)·dy */
export function unaryBackwardKernel(op: UnaryOp, x: FloatArray, dy: FloatArray, out: FloatArray): void {
  const n = x.length;
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) out[i] = -dy[i]!;
      return;
    case "exp":
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!) * dy[i]!;
      return;
    case "log":
      for (let i = 0; i < n; i++) out[i] = dy[i]! / x[i]!;
      return;
    case "tanh":
      for (let i = 0; i < n; i++) {
        const t = Math.tanh(x[i]!);
        out[i] = (1 - t * t) * dy[i]!;
      }
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) {
        const s = sigmoid(x[i]!);
        out[i] = s * (1 - s) * dy[i]!;
      }
      return;
    case "silu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const s = sigmoid(v);
        out[i] = s * (1 + v * (1 - s)) * dy[i]!;
      }
      return;
    case "gelu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const t = Math.tanh(GELU_C * (v + GELU_A * v * v * v));
        const d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * v * v);
        out[i] = d * dy[i]!;
      }
      return;
    case "relu":
      for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? dy[i]! : 0;
      return;
    case "sqrt":
      for (let i = 0; i < n; i++) out[i] = (0.5 / Math.sqrt(x[i]!)) * dy[i]!;
      return;
    case "rsqrt":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = (-0.5 / (v * Math.sqrt(v))) * dy[i]!;
      }
      return;
    case "square":
      for (let i = 0; i < n; i++) out[i] = 2 * x[i]! * dy[i]!;
      return;
  }
}

/** numerically safe logistic function */
export function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

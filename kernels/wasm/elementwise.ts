// Elementwise kernels: unary ops and their derivatives, binary ops (same shape, or
// with one operand broadcast along rows or columns), and affine. Op codes are the
// positions in UNARY_OPS / BINARY_OPS of src/tensor/backend.ts.
//
// Each exported function switches on the op once; the loop it calls is inlined
// with the op as a constant, so the compiler leaves one specialised loop per op.

import { exp4, loadTail, storeTail } from "./simd";

// UNARY_OPS: neg exp log tanh sigmoid silu gelu relu sqrt rsqrt square
const NEG = 0, EXP = 1, SIGMOID = 4, SILU = 5, RELU = 7, SQRT = 8, RSQRT = 9, SQUARE = 10;
// BINARY_OPS: add sub mul div min max ge
const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MIN = 4, MAX = 5, GE = 6;

/** 1/(1+e^-v), computed from e^-|v| so that it never overflows */
// @ts-ignore: decorator
@inline function sigmoid4(v: v128): v128 {
  const e = exp4(f32x4.neg(f32x4.abs(v)));
  const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e)); // σ(|v|)
  return v128.bitselect(s, f32x4.mul(e, s), f32x4.ge(v, f32x4.splat(0))); // σ(−|v|) = e^−|v|·σ(|v|)
}

// @ts-ignore: decorator
@inline function unary4(op: i32, v: v128): v128 {
  switch (op) {
    case NEG: return f32x4.neg(v);
    case EXP: return exp4(v);
    case SIGMOID: return sigmoid4(v);
    case SILU: return f32x4.mul(v, sigmoid4(v));
    case RELU: return v128.and(v, f32x4.gt(v, f32x4.splat(0))); // NaN → 0, as in the reference
    case SQRT: return f32x4.sqrt(v);
    case RSQRT: return f32x4.div(f32x4.splat(1), f32x4.sqrt(v));
    default: return f32x4.mul(v, v); // SQUARE
  }
}

/** f'(x)·dy */
// @ts-ignore: decorator
@inline function unaryGrad4(op: i32, x: v128, dy: v128): v128 {
  switch (op) {
    case NEG: return f32x4.neg(dy);
    case EXP: return f32x4.mul(exp4(x), dy);
    case SIGMOID: {
      const s = sigmoid4(x);
      return f32x4.mul(f32x4.mul(s, f32x4.sub(f32x4.splat(1), s)), dy);
    }
    case SILU: { // σ(x)·(1 + x·(1 − σ(x)))
      const s = sigmoid4(x);
      const d = f32x4.mul(s, f32x4.add(f32x4.splat(1), f32x4.mul(x, f32x4.sub(f32x4.splat(1), s))));
      return f32x4.mul(d, dy);
    }
    case RELU: return v128.and(dy, f32x4.gt(x, f32x4.splat(0)));
    case SQRT: return f32x4.mul(f32x4.div(f32x4.splat(0.5), f32x4.sqrt(x)), dy);
    case RSQRT: return f32x4.mul(f32x4.div(f32x4.splat(-0.5), f32x4.mul(x, f32x4.sqrt(x))), dy);
    default: return f32x4.mul(f32x4.mul(f32x4.splat(2), x), dy); // SQUARE
  }
}

// @ts-ignore: decorator
@inline function binary4(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(a, b);
    case SUB: return f32x4.sub(a, b);
    case MUL: return f32x4.mul(a, b);
    case DIV: return f32x4.div(a, b);
    case MIN: return f32x4.min(a, b); // NaN wins, as Math.min
    case MAX: return f32x4.max(a, b);
    default: return v128.and(f32x4.ge(a, b), f32x4.splat(1)); // GE: 1.0 or 0.0
  }
}

/** true for the unary ops these kernels implement (the rest run the reference code) */
export function hasUnary(op: i32): bool {
  return op == NEG || op == EXP || op == SIGMOID || op == SILU || op == RELU || op == SQRT || op == RSQRT || op == SQUARE;
}

// @ts-ignore: decorator
@inline function unaryLoop(op: i32, x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, unary4(op, v128.load(x + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storeTail(out + o, unary4(op, loadTail(x + o, n - i)), n - i);
  }
}

export function unary(op: i32, x: usize, out: usize, n: i32): void {
  switch (op) {
    case NEG: unaryLoop(NEG, x, out, n); break;
    case EXP: unaryLoop(EXP, x, out, n); break;
    case SIGMOID: unaryLoop(SIGMOID, x, out, n); break;
    case SILU: unaryLoop(SILU, x, out, n); break;
    case RELU: unaryLoop(RELU, x, out, n); break;
    case SQRT: unaryLoop(SQRT, x, out, n); break;
    case RSQRT: unaryLoop(RSQRT, x, out, n); break;
    case SQUARE: unaryLoop(SQUARE, x, out, n); break;
  }
}

// @ts-ignore: decorator
@inline function unaryGradLoop(op: i32, x: usize, dy: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, unaryGrad4(op, v128.load(x + o), v128.load(dy + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storeTail(out + o, unaryGrad4(op, loadTail(x + o, n - i), loadTail(dy + o, n - i)), n - i);
  }
}

export function unaryBackward(op: i32, x: usize, dy: usize, out: usize, n: i32): void {
  switch (op) {
    case NEG: unaryGradLoop(NEG, x, dy, out, n); break;
    case EXP: unaryGradLoop(EXP, x, dy, out, n); break;
    case SIGMOID: unaryGradLoop(SIGMOID, x, dy, out, n); break;
    case SILU: unaryGradLoop(SILU, x, dy, out, n); break;
    case RELU: unaryGradLoop(RELU, x, dy, out, n); break;
    case SQRT: unaryGradLoop(SQRT, x, dy, out, n); break;
    case RSQRT: unaryGradLoop(RSQRT, x, dy, out, n); break;
    case SQUARE: unaryGradLoop(SQUARE, x, dy, out, n); break;
  }
}

/**
 * out[o, i] = a[o, i] ∘ b[o, i] over `outer` rows of `inner` elements, where an
 * operand's row stride (aRow, bRow) is `inner` for a full tensor or 0 for a row
 * repeated down the rows, and its element stride (aCol, bCol) is 1, or 0 for one
 * value per row. Same-shape inputs are the case outer = 1, strides 1.
 */
// @ts-ignore: decorator
@inline function binaryLoop(
  op: i32, a: usize, aRow: i32, aCol: i32, b: usize, bRow: i32, bCol: i32, out: usize, outer: i32, inner: i32,
): void {
  for (let r = 0; r < outer; r++) {
    const ap = a + (<usize>(r * aRow) << 2);
    const bp = b + (<usize>(r * bRow) << 2);
    const op_ = out + (<usize>(r * inner) << 2);
    const aSplat = f32x4.splat(load<f32>(ap)); // used when aCol == 0
    const bSplat = f32x4.splat(load<f32>(bp));
    let i = 0;
    for (; i + 4 <= inner; i += 4) {
      const o = <usize>i << 2;
      const av = aCol == 0 ? aSplat : v128.load(ap + o);
      const bv = bCol == 0 ? bSplat : v128.load(bp + o);
      v128.store(op_ + o, binary4(op, av, bv));
    }
    if (i < inner) {
      const o = <usize>i << 2;
      const left = inner - i;
      const av = aCol == 0 ? aSplat : loadTail(ap + o, left);
      const bv = bCol == 0 ? bSplat : loadTail(bp + o, left);
      storeTail(op_ + o, binary4(op, av, bv), left);
    }
  }
}

export function binary(
  op: i32, a: usize, aRow: i32, aCol: i32, b: usize, bRow: i32, bCol: i32, out: usize, outer: i32, inner: i32,
): void {
  switch (op) {
    case ADD: binaryLoop(ADD, a, aRow, aCol, b, bRow, bCol, out, outer, inner); break;
    case SUB: binaryLoop(SUB, a, aRow, aCol, b, bRow, bCol, out, outer, inner); break;
    case MUL: binaryLoop(MUL, a, aRow, aCol, b, bRow, bCol, out, outer, inner); break;
    case DIV: binaryLoop(DIV, a, aRow, aCol, b, bRow, bCol, out, outer, inner); break;
    case MIN: binaryLoop(MIN, a, aRow, aCol, b, bRow, bCol, out, outer, inner); break;
    case MAX: binaryLoop(MAX, a, aRow, aCol, b, bRow, bCol, out, outer, inner); break;
    case GE: binaryLoop(GE, a, aRow, aCol, b, bRow, bCol, out, outer, inner); break;
  }
}

/** out = alpha·x + beta */
export function affine(x: usize, alpha: f32, beta: f32, out: usize, n: i32): void {
  const av = f32x4.splat(alpha);
  const bv = f32x4.splat(beta);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(f32x4.mul(av, v128.load(x + o)), bv));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storeTail(out + o, f32x4.add(f32x4.mul(av, loadTail(x + o, n - i)), bv), n - i);
  }
}

// The engine ops the later lessons add, run on both engines (CPU twin and WebGPU):
// minimum / maximum / clamp for GRPO's clipped objective, gatherRows /
// scatterAddRows for MoE routing. Finite-difference checks of the same rules are in
// cpu-gradcheck.test.ts; here: the tie convention, clamp's zero gradient outside
// its bounds, gradients routed through a tiny MoE-like combine (WebGPU against the
// CPU), and the errors bad inputs give.
//
// Weights and inputs are small dyadic numbers, so every expected value below is
// exact in float32 and compared exactly, except the MoE combine with experts
// (matmuls and SiLU on the GPU): atol 1e-5, rtol 1e-4 against the CPU.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DTypeError, ShapeError, type Shape } from "../../src/tensor/backend.js";
import { Engine, type Tensor } from "../../src/tensor/engine.js";
import { assertClose } from "./helpers/assert-close.js";
import { type Backends, checkGpuErrors, openBackends, poison } from "./helpers/gpu.js";
import { mulberry32, normal } from "./helpers/random.js";

let b: Backends;
let engines: [string, Engine][];

before(async () => {
  b = await openBackends();
  engines = [["cpu", new Engine(b.cpu)], ["webgpu", new Engine(b.gpu)]];
});
after(() => b?.close());

interface Run {
  /** f's output */
  y: number[];
  /** ∂(Σ w ⊙ y)/∂p for each parameter */
  grads: number[][];
}

/** Output of f(params) and the gradients of Σ w ⊙ f(params) on one engine; checks that nothing leaks. */
async function valueAndGrads(e: Engine, params: [number[], Shape][], f: (ps: Tensor[]) => Tensor, w: number[]): Promise<Run> {
  if (e.backend === b.gpu) poison(b);
  const live = e.backend.stats().liveBytes;
  const ps = params.map(([data, shape]) => e.parameter(data, shape));
  const out = e.scope(() => {
    const y = f(ps);
    e.backward(e.sumAll(e.mul(y, e.tensor(w, y.shape))));
    return y;
  });
  // + 0 turns −0 into 0 (a zero gradient times a negative number), so deepEqual can compare
  const list = async (t: Tensor) => Array.from(await t.data(), (v) => v + 0);
  const y = await list(out);
  const grads: number[][] = [];
  for (const p of ps) {
    assert.ok(p.grad, "every parameter gets a gradient");
    grads.push(await list(p.grad));
  }
  out.dispose();
  e.zeroGrad(ps);
  for (const p of ps) p.dispose();
  assert.equal(e.backend.stats().liveBytes, live, "every tensor of the forward and backward pass was freed");
  return { y, grads };
}

describe("minimum, maximum, clamp", () => {
  test("ties: the whole gradient goes to the first argument", async () => {
    const a = [1, 2, 3, 4];
    const c = [1, 0, 5, 4]; // ties at 0 and 3
    const w = [1, 2, 4, 8];
    for (const [name, e] of engines) {
      const min = await valueAndGrads(e, [[a, [4]], [c, [4]]], ([x, y]) => e.minimum(x!, y!), w);
      assert.deepEqual(min.y, [1, 0, 3, 4], `${name} minimum`);
      assert.deepEqual(min.grads, [[1, 0, 4, 8], [0, 2, 0, 0]], `${name} minimum: ties to a`);
      const max = await valueAndGrads(e, [[a, [4]], [c, [4]]], ([x, y]) => e.maximum(x!, y!), w);
      assert.deepEqual(max.y, [1, 2, 5, 4], `${name} maximum`);
      assert.deepEqual(max.grads, [[1, 2, 0, 8], [0, 0, 4, 0]], `${name} maximum: ties to a`);
      // b broadcast from a scalar: its gradient sums the positions b won (2 ties with a[1] = 2)
      const bmin = await valueAndGrads(e, [[[1, 2, 3], [3]], [[2], []]], ([x, y]) => e.minimum(x!, y!), [1, 2, 4]);
      assert.deepEqual(bmin.grads, [[1, 2, 0], [4]], `${name} minimum, scalar b`);
      const bmax = await valueAndGrads(e, [[[2], []], [[1, 2, 3], [3]]], ([x, y]) => e.maximum(x!, y!), [1, 2, 4]);
      assert.deepEqual(bmax.grads, [[3], [0, 0, 4]], `${name} maximum, scalar a`);
      // min(x, x) = x: all of the gradient reaches x once
      const self = await valueAndGrads(e, [[a, [4]]], ([x]) => e.minimum(x!, x!), w);
      assert.deepEqual(self.grads, [w], `${name} minimum(x, x)`);
    }
    await checkGpuErrors(b);
  });

  test("clamp: gradient 1 on [lo, hi] (bounds included), 0 outside", async () => {
    const x = [-2, -1, -0.5, 0, 1, 1.5, 0.25];
    const w = [1, 2, 4, 8, 16, 32, 64];
    for (const [name, e] of engines) {
      const r = await valueAndGrads(e, [[x, [7]]], ([t]) => e.clamp(t!, -1, 1), w);
      assert.deepEqual(r.y, [-1, -1, -0.5, 0, 1, 1, 0.25], `${name} clamp`);
      assert.deepEqual(r.grads, [[0, 2, 4, 8, 16, 0, 64]], `${name} clamp gradient`);
      const point = await valueAndGrads(e, [[x, [7]]], ([t]) => e.clamp(t!, 0.5, 0.5), w);
      assert.deepEqual(point.y, new Array(7).fill(0.5), `${name} clamp to a point`);
      assert.deepEqual(point.grads, [new Array(7).fill(0)], `${name} clamp to a point: no x equals 0.5`);
    }
    await checkGpuErrors(b);
  });

  test("GRPO's clipped surrogate min(r·A, clamp(r, 1−ε, 1+ε)·A) stops the gradient where the ratio left the trust region in A's direction", async () => {
    const eps = 0.25;
    const r = [0.5, 1, 1.5, 0.5, 1, 1.5]; // ratios below, inside and above [0.75, 1.25]
    const A = [1, 1, 1, -1, -1, -1]; // advantages: three good samples, three bad ones
    for (const [name, e] of engines) {
      const run = await valueAndGrads(e, [[r, [6]]], ([ratio]) => {
        const adv = e.tensor(A, [6]);
        return e.minimum(e.mul(ratio!, adv), e.mul(e.clamp(ratio!, 1 - eps, 1 + eps), adv));
      }, [1, 1, 1, 1, 1, 1]);
      assert.deepEqual(run.y, [0.5, 1, 1.25, -0.75, -1, -1.5], `${name} surrogate`);
      // A > 0: no push past 1 + ε; A < 0: no push below 1 − ε; elsewhere ∂/∂r = A
      assert.deepEqual(run.grads, [[1, 1, 0, 0, -1, -1]], `${name} ∂surrogate/∂r`);
    }
    await checkGpuErrors(b);
  });
});

describe("gatherRows and scatterAddRows", () => {
  // 6 tokens, 9 expert slots: tokens 0, 1, 3, 4 are routed twice, token 2 once, and
  // token 5 is dropped (no slot). Slots 0–4 belong to expert 0, slots 5–8 to expert 1.
  const [N, C, M] = [6, 4, 9];
  const slotToken = [0, 1, 3, 4, 2, 0, 3, 1, 4];

  test("a linear combine: scatterAddRows(gatherRows(x, idx) · gate, idx, N) routes exactly", async () => {
    const x = Array.from({ length: N * C }, (_, i) => ((i * 7) % 11) / 4 - 1);
    const gate = [0.5, 0.25, 0.75, 1, 0.125, 0.5, 0.25, 0.75, 0];
    const R = Array.from({ length: N * C }, (_, i) => ((i * 5) % 9) / 8 - 0.5);
    // out[n] = x[n] · Σ_{m → n} gate[m]; dx[n] = R[n] · Σ_{m → n} gate[m]; dgate[m] = x[t] · R[t] for t = idx[m]
    const gateSum = new Array<number>(N).fill(0);
    slotToken.forEach((t, m) => (gateSum[t]! += gate[m]!));
    const rowDot = (t: number) => x.slice(t * C, t * C + C).reduce((s, v, c) => s + v * R[t * C + c]!, 0);
    const wantY = x.map((v, i) => v * gateSum[Math.floor(i / C)]!);
    const wantDx = R.map((v, i) => v * gateSum[Math.floor(i / C)]!);
    const wantDgate = slotToken.map(rowDot);
    for (const [name, e] of engines) {
      const run = await valueAndGrads(e, [[x, [N, C]], [gate, [M, 1]]], ([xt, g]) => {
        const idx = e.tensor(slotToken, [M], "i32");
        return e.scatterAddRows(e.mul(e.gatherRows(xt!, idx), g!), idx, N);
      }, R);
      assertClose(run.y, wantY, { atol: 1e-6 }, `${name} combine`);
      assertClose(run.grads[0]!, wantDx, { atol: 1e-6 }, `${name} dx`);
      assertClose(run.grads[1]!, wantDgate, { atol: 1e-6 }, `${name} dgate`);
      assert.deepEqual(run.y.slice(5 * C), [0, 0, 0, 0], `${name}: the dropped token's output row is 0`);
      assert.deepEqual(run.grads[0]!.slice(5 * C), [0, 0, 0, 0], `${name}: the dropped token gets no gradient`);
    }
    await checkGpuErrors(b);
  });

  test("a tiny MoE layer (two SiLU experts, gated combine): WebGPU gradients match the CPU", async () => {
    const rng = mulberry32(7);
    const params: [number[], Shape][] = [
      [normal(rng, N * C), [N, C]], // tokens
      [normal(rng, C * C, 0.5), [C, C]], // expert 0
      [normal(rng, C * C, 0.5), [C, C]], // expert 1
      [normal(rng, M), [M, 1]], // gate per slot
    ];
    const R = normal(rng, N * C);
    const layer = (e: Engine) => ([x, w0, w1, gate]: Tensor[]) => {
      const idx = e.tensor(slotToken, [M], "i32");
      const h = e.gatherRows(x!, idx); // dispatch: one row per slot, grouped by expert
      const y0 = e.silu(e.matmul(e.slice(h, 0, 0, 5), w0!));
      const y1 = e.silu(e.matmul(e.slice(h, 0, 5, M), w1!));
      return e.scatterAddRows(e.mul(e.concat([y0, y1], 0), gate!), idx, N); // combine
    };
    const [cpuE, gpuE] = [engines[0]![1], engines[1]![1]];
    const cpu = await valueAndGrads(cpuE, params, layer(cpuE), R);
    const gpu = await valueAndGrads(gpuE, params, layer(gpuE), R);
    const tol = { atol: 1e-5, rtol: 1e-4 };
    assertClose(gpu.y, cpu.y, tol, "MoE output");
    ["dx", "dW0", "dW1", "dgate"].forEach((label, i) => {
      assert.ok(cpu.grads[i]!.some((v) => v !== 0), `${label} is not all zero`);
      assertClose(gpu.grads[i]!, cpu.grads[i]!, tol, `MoE ${label}`);
    });
    assert.deepEqual(gpu.grads[0]!.slice(5 * C), [0, 0, 0, 0], "the dropped token gets no gradient");
    await checkGpuErrors(b);
  });
});

describe("errors", () => {
  test("minimum/maximum of shapes that do not broadcast: a ShapeError naming the op and both shapes", () => {
    for (const [name, e] of engines) {
      const x = e.zeros([3, 4]);
      const y = e.zeros([5]);
      for (const [op, f] of [["min", e.minimum], ["max", e.maximum]] as const) {
        assert.throws(() => f.call(e, x, y), (err: unknown) => {
          assert.ok(err instanceof ShapeError, `${name} ${op}`);
          assert.match(err.message, new RegExp(`^${op}: shapes \\[3, 4\\] and \\[5\\] cannot be broadcast together`));
          return true;
        });
      }
      x.dispose();
      y.dispose();
    }
  });

  test("minimum/maximum/clamp reject i32 tensors with a DTypeError", () => {
    for (const [name, e] of engines) {
      const f = e.zeros([3]);
      const i = e.tensor([1, 2, 3], [3], "i32");
      assert.throws(() => e.minimum(i, f), (err: unknown) => {
        assert.ok(err instanceof DTypeError, name);
        assert.equal(err.message, "min: a must be f32, got i32 with shape [3]");
        return true;
      });
      assert.throws(() => e.maximum(f, i), /^DTypeError: max: b must be f32, got i32/);
      assert.throws(() => e.clamp(i, 0, 1), /^DTypeError: clamp: x must be f32, got i32 with shape \[3\]/);
      assert.throws(() => e.clamp(f, 1, 0), /clamp: lo \(1\) must be ≤ hi \(0\)/);
      f.dispose();
      i.dispose();
    }
  });

  test("gatherRows/scatterAddRows: float indices and mismatched shapes name the op and the shapes", () => {
    for (const [name, e] of engines) {
      const x = e.zeros([3, 2]);
      const fIdx = e.tensor([0, 1], [2]);
      const idx22 = e.tensor([0, 1, 0, 1], [2, 2], "i32");
      assert.throws(() => e.gatherRows(x, fIdx), /^DTypeError: gatherRows: idx must be i32, got f32 with shape \[2\]/, name);
      assert.throws(() => e.scatterAddRows(x, fIdx, 3), /^DTypeError: scatterAddRows: idx must be i32/, name);
      assert.throws(() => e.scatterAddRows(x, idx22, 4), (err: unknown) => {
        assert.ok(err instanceof ShapeError, name);
        assert.match(err.message, /^scatterAddRows: src \[3, 2\] must be \[\.\.\.idx\.shape, D\] for idx \[2, 2\]/);
        return true;
      });
      const cube = e.zeros([2, 3, 2]);
      assert.throws(() => e.gatherRows(cube, idx22), /^ShapeError: gatherRows: table must be \[V, D\], got \[2, 3, 2\]/, name);
      for (const t of [x, fIdx, idx22, cube]) t.dispose();
    }
  });
});

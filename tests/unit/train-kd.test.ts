// The token-level distillation loss (src/train/kd.ts), checked three ways on the float64
// CPU backend: its value against a float64 host reference of T²·KL(p_t ‖ q_s); its
// gradient against the hand-derived T·(q_s − p_t) (per masked row, divided by the count);
// and against central finite differences. Plus: zero when the student equals the
// teacher, no gradient to the teacher, and masked rows contribute nothing.
//
// Tolerances: host and engine compute the same float64 expressions in a different order
// (~1e-15; we allow 1e-12). Finite differences (step 1e-6) carry ~1e-10 of round-off.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CpuBackend } from "../../src/cpu/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { kdLoss } from "../../src/train/kd.js";
import { assertClose } from "./helpers/assert-close.js";
import { numericGradOf } from "./helpers/finite-diff.js";
import { mulberry32, normal } from "./helpers/random.js";

const e = new Engine(new CpuBackend({ precision: "f64" }));

function softmaxRow(z: readonly number[], T: number): number[] {
  const m = Math.max(...z);
  const ex = z.map((v) => Math.exp((v - m) / T));
  const s = ex.reduce((a, b) => a + b, 0);
  return ex.map((v) => v / s);
}

/** float64 host reference: loss and ∂loss/∂z_s */
function reference(zs: number[], zt: number[], N: number, V: number, T: number, mask: number[], count: number) {
  let loss = 0;
  const grad = new Array<number>(N * V).fill(0);
  for (let n = 0; n < N; n++) {
    if (!mask[n]) continue;
    const q = softmaxRow(zs.slice(n * V, n * V + V), T);
    const p = softmaxRow(zt.slice(n * V, n * V + V), T);
    for (let v = 0; v < V; v++) {
      loss += (T * T * p[v]! * (Math.log(p[v]!) - Math.log(q[v]!))) / count;
      grad[n * V + v] = (T * (q[v]! - p[v]!)) / count;
    }
  }
  return { loss, grad };
}

async function engineLoss(zs: number[], zt: number[], N: number, V: number, T: number, mask: number[], count: number) {
  const s = e.parameter(zs, [N, V]);
  const t = e.parameter(zt, [N, V]);
  const loss = e.scope(() => {
    const l = kdLoss(e, s, t, T, e.tensor(mask, [N]), count);
    e.backward(l);
    return l;
  });
  const value = await loss.item();
  const grad = Array.from(await s.grad!.data());
  const teacherGrad = t.grad ? Array.from(await t.grad.data()) : null;
  loss.dispose();
  s.dispose();
  t.dispose();
  return { value, grad, teacherGrad };
}

for (const T of [1, 2, 0.5]) {
  test(`kdLoss at T=${T}: value and gradient match the float64 reference T·(q_s − p_t)`, async () => {
    const rng = mulberry32(7 + T * 10);
    const N = 6;
    const V = 9;
    const zs = normal(rng, N * V, 2);
    const zt = normal(rng, N * V, 2);
    const mask = [1, 1, 0, 1, 1, 0];
    const count = 4;
    const want = reference(zs, zt, N, V, T, mask, count);
    const got = await engineLoss(zs, zt, N, V, T, mask, count);
    assert.ok(want.loss > 0.05, "a case where the distributions differ");
    assertClose([got.value], [want.loss], { atol: 1e-12, rtol: 1e-12 }, "loss");
    assertClose(got.grad, want.grad, { atol: 1e-12 }, "∂loss/∂z_student");
    for (const n of [2, 5]) assert.ok(got.grad.slice(n * V, n * V + V).every((g) => g === 0), `masked row ${n}: no gradient`);
    assert.ok(got.teacherGrad === null || got.teacherGrad.every((g) => g === 0), "the teacher gets no gradient");
  });
}

test("kdLoss: central finite differences agree with autograd; zero when the student is the teacher", async () => {
  const rng = mulberry32(11);
  const N = 3;
  const V = 5;
  const T = 2;
  const zt = normal(rng, N * V, 1.5);
  const zs = normal(rng, N * V, 1.5);
  const mask = [1, 1, 1];
  const s = e.parameter(zs, [N, V]);
  const t = e.tensor(zt, [N, V]);
  const L = async () => {
    const l = e.noGrad(() => kdLoss(e, s, t, T, e.tensor(mask, [N]), N));
    const v = await l.item();
    l.dispose();
    return v;
  };
  const numeric = await numericGradOf(e, s, L, 1e-6);
  const got = await engineLoss(zs, zt, N, V, T, mask, N);
  assertClose(got.grad, Array.from(numeric), { atol: 1e-8, rtol: 1e-6 }, "autograd vs finite differences");
  const same = await engineLoss(zt, zt, N, V, T, mask, N);
  assert.ok(Math.abs(same.value) < 1e-14, `KL(p‖p) = 0, got ${same.value}`);
  assert.ok(same.grad.every((g) => Math.abs(g) < 1e-14));
  s.dispose();
  t.dispose();
});

test("kdLoss rejects mismatched shapes and a temperature ≤ 0", () => {
  const a = e.tensor([1, 2, 3, 4], [2, 2]);
  const b = e.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.throws(() => kdLoss(e, a, b, 1), /both be \[N, V\]/);
  assert.throws(() => kdLoss(e, a, a, 0), /temperature/);
  a.dispose();
  b.dispose();
});

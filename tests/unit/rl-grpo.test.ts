// The GRPO objective (src/rl/grpo.ts), checked four ways:
//  1. against the fact sheet's hand-derived gradient, on the float64 CPU backend:
//     ∂loss/∂z_t = −w_t·c_t·(onehot(a_t) − softmax(z_t)), c_t = ρ_tÂ_t·[clip inactive] + β(π_ref/π_θ − 1),
//     for ratios inside and outside the clip range with both signs of Â, β = 0 and
//     β > 0, symmetric and clip-higher ranges, and all three normalisations;
//  2. against central finite differences of the loss (float64, away from the kinks);
//  3. WebGPU against the CPU on a random case;
//  4. end to end: a 1-layer GPT learns, by GRPO alone, to emit a rewarded token.
// Plus the advantages, the k3 KL, the loss value on-policy, the packing of
// rollouts, and the errors bad inputs give.
//
// Tolerances: the hand formula and autograd compute the same float64 expressions in
// a different order, so they agree to ~1e-15; we allow 1e-12. Finite differences
// (step 1e-6) carry ~1e-10 of round-off: atol 1e-8, rtol 1e-6. WebGPU against the
// float32 CPU: atol 1e-6 on gradients of size ~0.1, rtol 1e-5 on the loss.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CpuBackend } from "../../src/cpu/index.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { AdamW } from "../../src/optim/adamw.js";
import {
  type GrpoOptions, type GrpoStats, type Normalisation, NORMALISATIONS,
  groupAdvantages, grpoLoss, k3KL, readGrpoStats, tokenLogProbs,
} from "../../src/rl/grpo.js";
import { packRollouts } from "../../src/rl/rollout.js";
import { generate } from "../../src/sample/generate.js";
import { DTypeError, ShapeError } from "../../src/tensor/backend.js";
import { Engine, type Tensor } from "../../src/tensor/engine.js";
import { trainStep } from "../../src/train/step.js";
import { assertClose } from "./helpers/assert-close.js";
import { poison, withBackends } from "./helpers/gpu.js";
import { f32, ints, mulberry32, normal, uniform } from "./helpers/random.js";

const f64 = new CpuBackend({ precision: "f64" });
const e64 = new Engine(f64);

// ---- a batch described on the host --------------------------------------------------------

/**
 * N token positions with V logits each. Instead of old and reference log-probs we
 * give the ratios we want, ρ = π_θ/π_old and r = π_ref/π_θ, and derive the
 * log-probs from the logits: so every case sits exactly where the test wants it.
 */
interface Case {
  N: number;
  V: number;
  logits: number[];
  targets: number[];
  rho: number[];
  refRatio: number[];
  adv: number[];
  mask: number[];
  seqIds: number[];
  S: number;
}

/** log-softmax of each row, in float64 */
function hostLogSoftmax(logits: readonly number[], N: number, V: number): number[][] {
  const out: number[][] = [];
  for (let n = 0; n < N; n++) {
    const row = logits.slice(n * V, n * V + V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, z) => s + Math.exp(z - m), 0));
    out.push(row.map((z) => z - lse));
  }
  return out;
}

function logProbsOf(c: Case): { logp: number[]; oldLogp: number[]; refLogp: number[] } {
  const ls = hostLogSoftmax(c.logits, c.N, c.V);
  const logp = c.targets.map((a, n) => ls[n]![a]!);
  return {
    logp,
    oldLogp: logp.map((l, n) => l - Math.log(c.rho[n]!)), // ρ = exp(logp − oldLogp)
    refLogp: logp.map((l, n) => l + Math.log(c.refRatio[n]!)), // r = exp(refLogp − logp)
  };
}

/** each position's normalisation weight, by definition */
function hostWeights(c: Case, normalisation: Normalisation, constant: number): number[] {
  const lengths = new Array<number>(c.S).fill(0);
  c.mask.forEach((m, n) => (lengths[c.seqIds[n]!]! += m));
  const total = c.mask.reduce((s, m) => s + m, 0);
  return c.mask.map((m, n) => {
    if (!m) return 0;
    if (normalisation === "sequence") return 1 / (c.S * lengths[c.seqIds[n]!]!);
    if (normalisation === "token") return 1 / total;
    return 1 / constant;
  });
}

function clipActive(rho: number, adv: number, eps: number, epsHigh: number): boolean {
  return (adv > 0 && rho > 1 + epsHigh) || (adv < 0 && rho < 1 - eps);
}

/** the fact sheet: loss, ∂loss/∂logits and stats computed by hand */
function handDerived(c: Case, o: Required<Omit<GrpoOptions, "constant">> & { constant: number }) {
  const probs = hostLogSoftmax(c.logits, c.N, c.V).map((row) => row.map(Math.exp));
  const w = hostWeights(c, o.normalisation, o.constant);
  const grad = new Array<number>(c.N * c.V).fill(0);
  let loss = 0;
  let kl = 0;
  let clipped = 0;
  let clippedHigh = 0;
  let ratio = 0;
  let tokens = 0;
  for (let n = 0; n < c.N; n++) {
    if (!c.mask[n]) continue;
    const [rho, A, r] = [c.rho[n]!, c.adv[n]!, c.refRatio[n]!];
    const active = clipActive(rho, A, o.eps, o.epsHigh);
    const clippedRho = Math.min(Math.max(rho, 1 - o.eps), 1 + o.epsHigh);
    const k3 = r - Math.log(r) - 1;
    loss -= w[n]! * (Math.min(rho * A, clippedRho * A) - o.beta * k3);
    const coef = (active ? 0 : rho * A) + o.beta * (r - 1);
    for (let v = 0; v < c.V; v++) {
      const onehot = v === c.targets[n] ? 1 : 0;
      grad[n * c.V + v] = -w[n]! * coef * (onehot - probs[n]![v]!);
    }
    kl += k3;
    clipped += active ? 1 : 0;
    clippedHigh += active && A > 0 ? 1 : 0;
    ratio += rho;
    tokens++;
  }
  const stats: GrpoStats = {
    kl: kl / tokens, clipFraction: clipped / tokens, ratio: ratio / tokens,
    clipLow: (clipped - clippedHigh) / tokens, clipHigh: clippedHigh / tokens,
  };
  return { loss, grad, stats };
}

/** what the engine computes: loss, ∂loss/∂logits and stats; checks nothing leaks */
async function engineRun(e: Engine, c: Case, opts: GrpoOptions, withRef = true) {
  const live = e.backend.stats().liveBytes;
  const { oldLogp, refLogp } = logProbsOf(c);
  const logits = e.parameter(c.logits, [c.N, c.V]);
  let stats: Tensor | null = null;
  const loss = e.scope(() => {
    const out = grpoLoss(e, {
      logp: tokenLogProbs(e, logits, e.tensor(c.targets, [c.N], "i32")),
      oldLogp: e.tensor(oldLogp, [c.N]),
      refLogp: withRef ? e.tensor(refLogp, [c.N]) : null,
      advantages: e.tensor(c.adv, [c.N]),
      mask: e.tensor(c.mask, [c.N]),
      seqIds: e.tensor(c.seqIds, [c.N], "i32"),
      numSequences: c.S,
    }, opts);
    e.backward(out.loss);
    stats = e.keep(out.stats);
    return out.loss;
  });
  const value = await loss.item();
  loss.dispose();
  const grad = Array.from(await logits.grad!.data(), (v) => v + 0);
  const s = await readGrpoStats(stats!);
  e.zeroGrad([logits]);
  logits.dispose();
  assert.equal(e.backend.stats().liveBytes, live, "every tensor of the forward and backward pass was freed");
  return { loss: value, grad, stats: s };
}

// Eight completion tokens that cover every branch of the clip (ε = 0.2), and two
// masked positions holding garbage ratios. Sequences: 0 = rows 0–3 and 8 (a prompt
// position), 1 = rows 4–6, 2 = row 7, 3 = row 9 only (an empty completion).
const CRAFTED_ROWS: { rho: number; adv: number; why: string }[] = [
  { rho: 1, adv: 0.7, why: "on-policy" },
  { rho: 1.1, adv: 1.2, why: "inside, Â > 0" },
  { rho: 1.5, adv: 0.9, why: "above 1 + ε, Â > 0: clipped" },
  { rho: 0.6, adv: 0.8, why: "below 1 − ε, Â > 0: not clipped" },
  { rho: 0.9, adv: -1.1, why: "inside, Â < 0" },
  { rho: 0.5, adv: -0.6, why: "below 1 − ε, Â < 0: clipped" },
  { rho: 1.4, adv: -1.3, why: "above 1 + ε, Â < 0: not clipped" },
  { rho: 1.25, adv: 1, why: "between 1 + 0.2 and 1 + 0.28: clipped unless clip-higher" },
  { rho: 3, adv: 2, why: "masked" },
  { rho: 0.1, adv: -5, why: "masked" },
];

function craftedCase(): Case {
  const rng = mulberry32(11);
  const N = CRAFTED_ROWS.length;
  const V = 5;
  return {
    N, V,
    logits: normal(rng, N * V),
    targets: ints(rng, N, V),
    rho: CRAFTED_ROWS.map((r) => r.rho),
    refRatio: [1, 0.8, 1.3, 2, 0.5, 1.1, 0.9, 1.05, 5, 7],
    adv: CRAFTED_ROWS.map((r) => r.adv),
    mask: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
    seqIds: [0, 0, 0, 0, 1, 1, 1, 2, 0, 3],
    S: 4,
  };
}

describe("grpoLoss: autograd equals the hand-derived gradient (float64 CPU)", () => {
  const c = craftedCase();
  for (const normalisation of NORMALISATIONS) {
    for (const beta of [0, 0.1]) {
      for (const epsHigh of [0.2, 0.28]) {
        test(`${normalisation} normalisation, β = ${beta}, ε = 0.2, ε_high = ${epsHigh}`, async () => {
          const o = { eps: 0.2, epsHigh, beta, normalisation, constant: 4 * 6 };
          const want = handDerived(c, o);
          const got = await engineRun(e64, c, o);
          assertClose([got.loss], [want.loss], { atol: 1e-12 }, "loss");
          assertClose(got.grad, want.grad, { atol: 1e-12 }, "∂loss/∂logits");
          const keys = ["kl", "clipFraction", "ratio", "clipLow", "clipHigh"] as const;
          assertClose(keys.map((k) => got.stats[k]), keys.map((k) => want.stats[k]), { atol: 1e-12 }, "stats");
          // clipped rows: 2 and 5, and 7 unless clip-higher lets 1.25 through
          assert.equal(got.stats.clipFraction, (epsHigh === 0.2 ? 3 : 2) / 8);
          // row 5 (Â < 0) is the only one clipped below; 2 and 7 (Â > 0) above
          assert.equal(got.stats.clipLow, 1 / 8);
          assert.equal(got.stats.clipHigh, (epsHigh === 0.2 ? 2 : 1) / 8);
          for (const n of [8, 9]) assert.deepEqual(got.grad.slice(n * c.V, n * c.V + c.V), new Array(c.V).fill(0), `masked row ${n}: exactly 0`);
          const clippedRows = epsHigh === 0.2 ? [2, 5, 7] : [2, 5];
          if (beta === 0) {
            for (const n of clippedRows) assert.ok(got.grad.slice(n * c.V, n * c.V + c.V).every((g) => g === 0), `row ${n} (${CRAFTED_ROWS[n]!.why}): no gradient`);
          }
          for (const n of [0, 1, 3, 4, 6]) {
            assert.ok(got.grad.slice(n * c.V, n * c.V + c.V).some((g) => g !== 0), `row ${n} (${CRAFTED_ROWS[n]!.why}): has a gradient`);
          }
        });
      }
    }
  }

  test("the sign is right: a descent step raises log π(a) where Â > 0 and lowers it where Â < 0", async () => {
    const o = { eps: 0.2, beta: 0, normalisation: "token" as const };
    const got = await engineRun(e64, c, o);
    const stepped = c.logits.map((z, i) => z - 0.01 * got.grad[i]!);
    const before = hostLogSoftmax(c.logits, c.N, c.V);
    const after = hostLogSoftmax(stepped, c.N, c.V);
    for (const n of [0, 1, 3, 4, 6]) {
      const a = c.targets[n]!;
      const moved = after[n]![a]! - before[n]![a]!;
      assert.ok(Math.sign(moved) === Math.sign(c.adv[n]!), `row ${n} (${CRAFTED_ROWS[n]!.why}): log π moved by ${moved}`);
    }
  });
});

describe("grpoLoss: finite differences (float64 CPU)", () => {
  test("∂loss/∂logits matches central differences for every normalisation, β > 0, clip-higher", async () => {
    const rng = mulberry32(5);
    const [N, V, S] = [12, 6, 4];
    // ratios at least 0.02 from the kinks 0.8 and 1.28 (a step of 1e-6 in a logit moves ρ by ~1e-6)
    const rho = uniform(rng, N, 0.55, 1.6).map((r) => (Math.abs(r - 0.8) < 0.02 || Math.abs(r - 1.28) < 0.02 ? r + 0.05 : r));
    const c: Case = {
      N, V, logits: normal(rng, N * V), targets: ints(rng, N, V), rho,
      refRatio: uniform(rng, N, 0.5, 2), adv: normal(rng, N),
      mask: [0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0], seqIds: [0, 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3], S,
    };
    const { oldLogp, refLogp } = logProbsOf(c);
    for (const normalisation of NORMALISATIONS) {
      const o: GrpoOptions = { eps: 0.2, epsHigh: 0.28, beta: 0.05, normalisation, constant: 20 };
      const lossAt = (logits: number[]): number =>
        e64.scope(() =>
          e64.noGrad(() => {
            const out = grpoLoss(e64, {
              logp: tokenLogProbs(e64, e64.tensor(logits, [N, V]), e64.tensor(c.targets, [N], "i32")),
              oldLogp: e64.tensor(oldLogp, [N]), refLogp: e64.tensor(refLogp, [N]), advantages: e64.tensor(c.adv, [N]),
              mask: e64.tensor(c.mask, [N]), seqIds: e64.tensor(c.seqIds, [N], "i32"), numSequences: S,
            }, o);
            return f64.readSync(out.loss.raw)[0]!;
          }),
        );
      const h = 1e-6;
      const numeric = c.logits.map((_, i) => {
        const x = [...c.logits];
        x[i] = c.logits[i]! + h;
        const lp = lossAt(x);
        x[i] = c.logits[i]! - h;
        return (lp - lossAt(x)) / (2 * h);
      });
      assert.ok(numeric.some((g) => Math.abs(g) > 1e-4), "the numeric gradient is not all zero");
      const got = await engineRun(e64, c, o);
      assertClose(got.grad, numeric, { atol: 1e-8, rtol: 1e-6 }, `${normalisation}: autograd vs finite differences`);
    }
  });
});

describe("groupAdvantages", () => {
  test("GRPO: (r − mean)/(std + eps) per group; zero-spread groups give exactly 0", () => {
    const rewards = [1, 0, 0, 1, /**/ 1, 1, 1, 1, /**/ 0, 0, 0, 0, /**/ 0.5, 0.2, 0.1, 0.9];
    const { advantages, groups, zeroSpreadShare } = groupAdvantages(rewards, 4);
    const std0 = Math.sqrt(1 / 3); // sample std of [1, 0, 0, 1]: Σ(r − ½)² / 3 = 1/3
    const a0 = 0.5 / (std0 + 1e-4);
    assertClose(advantages.slice(0, 4), [a0, -a0, -a0, a0], { atol: 1e-15 }, "group 0");
    assert.deepEqual(advantages.slice(4, 12), new Array(8).fill(0), "all right / all wrong groups teach nothing");
    const g3 = [0.5, 0.2, 0.1, 0.9];
    const mean3 = 0.425;
    const std3 = Math.sqrt(g3.reduce((s, r) => s + (r - mean3) ** 2, 0) / 3);
    assertClose(advantages.slice(12), g3.map((r) => (r - mean3) / (std3 + 1e-4)), { atol: 1e-12 }, "group 3");
    assert.deepEqual(groups.map((g) => g.zeroSpread), [false, true, true, false]);
    assertClose(groups.map((g) => g.mean), [0.5, 1, 0, mean3], { atol: 1e-15 }, "means");
    assertClose(groups.map((g) => g.std), [std0, 0, 0, std3], { atol: 1e-15 }, "stds");
    assert.equal(zeroSpreadShare, 0.5);
    // standardised advantages sum to 0 within each group
    for (let g = 0; g < 4; g++) assert.ok(Math.abs(advantages.slice(4 * g, 4 * g + 4).reduce((s, a) => s + a, 0)) < 1e-12);
  });

  test("Dr. GRPO (scaleByStd: false): r − mean; the eps option", () => {
    const { advantages, zeroSpreadShare } = groupAdvantages([1, 0, 0, 2, 2, 2], 3, { scaleByStd: false });
    assertClose(advantages, [2 / 3, -1 / 3, -1 / 3, 0, 0, 0], { atol: 1e-15 }, "r − mean");
    assert.equal(zeroSpreadShare, 0.5);
    const big = groupAdvantages([1, 0], 2, { eps: 1 }).advantages; // std √½
    assertClose(big, [0.5 / (Math.SQRT1_2 + 1), -0.5 / (Math.SQRT1_2 + 1)], { atol: 1e-15 }, "eps = 1");
  });

  test("equal rewards whose mean is not exact in floating point still give exactly 0", () => {
    const r = groupAdvantages([0.1, 0.1, 0.1, 0.7, 0.7, 0.7], 3);
    assert.deepEqual(r.advantages, [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(r.groups.map((g) => g.std), [0, 0]);
  });

  test("errors", () => {
    assert.throws(() => groupAdvantages([1, 0, 1, 0], 3), /4 rewards do not split into groups of 3/);
    assert.throws(() => groupAdvantages([1, 0], 1), /groupSize must be an integer ≥ 2/);
    assert.throws(() => groupAdvantages([1, 0], 1.5), /groupSize/);
    assert.throws(() => groupAdvantages([1, NaN], 2), /reward 1 is NaN/);
    assert.throws(() => groupAdvantages([1, 0], 2, { eps: -1 }), /eps must be a finite number ≥ 0/);
    assert.deepEqual(groupAdvantages([], 4), { advantages: [], groups: [], zeroSpreadShare: 0 });
  });
});

describe("the loss value and the KL", () => {
  /** GRPO batch: 2 prompts × G = 3, sequence lengths 1–4, on-policy (ρ = 1) */
  function onPolicyCase(seqAdv: number[], lengths: number[]): Case {
    const rng = mulberry32(3);
    const seqIds = lengths.flatMap((L, i) => new Array<number>(L + 1).fill(i)); // one prompt position each
    const mask = lengths.flatMap((L) => [0, ...new Array<number>(L).fill(1)]);
    const N = seqIds.length;
    const V = 4;
    return {
      N, V, logits: normal(rng, N * V), targets: ints(rng, N, V),
      rho: new Array<number>(N).fill(1), refRatio: new Array<number>(N).fill(1),
      adv: seqIds.map((i, n) => (mask[n] ? seqAdv[i]! : 0)), mask, seqIds, S: lengths.length,
    };
  }
  const lengths = [1, 3, 4, 2, 2, 1];

  test("on-policy, β = 0: GRPO's loss is 0 with group-standardised advantages, yet its gradient is not", async () => {
    // At ρ = 1 the surrogate is Â itself, so loss = −Σ_t w_t·Â_t. With w_t = 1/(S·|o_i|)
    // every sequence counts once: loss = −mean_i Â_i, and standardised advantages sum to
    // 0 in every group. The loss says nothing about progress; the reward does.
    const { advantages } = groupAdvantages([1, 0, 0, 0.5, 1, 0], 3);
    const c = onPolicyCase(advantages, lengths);
    const got = await engineRun(e64, c, { normalisation: "sequence" }, false);
    assert.ok(Math.abs(got.loss) < 1e-15, `loss ${got.loss}`);
    assert.ok(got.grad.some((g) => Math.abs(g) > 1e-3), "the gradient is not 0");
    assert.ok(Number.isNaN(got.stats.kl), "no reference given: KL is NaN");
    assert.equal(got.stats.ratio, 1);
    assert.equal(got.stats.clipFraction, 0);
  });

  test("on-policy, β = 0: loss = −mean_i Â_i (sequence), −Σ|o_i|Â_i/Σ|o_i| (token), −Σ|o_i|Â_i/C (constant)", async () => {
    const adv = [0.5, -1, 2, 0.25, -0.75, 1.5]; // any advantages, not summing to 0
    const c = onPolicyCase(adv, lengths);
    const byLength = adv.reduce((s, a, i) => s + a * lengths[i]!, 0);
    const want: Record<Normalisation, number> = {
      sequence: -adv.reduce((s, a) => s + a, 0) / adv.length,
      token: -byLength / lengths.reduce((s, L) => s + L, 0),
      constant: -byLength / (6 * 4),
    };
    for (const normalisation of NORMALISATIONS) {
      const got = await engineRun(e64, c, { normalisation, constant: 24, beta: 0.3 }, true); // π_ref = π_θ: KL 0
      assertClose([got.loss], [want[normalisation]], { atol: 1e-14 }, `${normalisation} loss`);
      assert.equal(got.stats.kl, 0, "π_ref = π_θ: KL is 0");
    }
  });

  test("k3 KL is ≥ 0 everywhere, 0 where π_ref = π_θ, and equals r − log r − 1", async () => {
    const rng = mulberry32(9);
    const logp = uniform(rng, 64, -6, 0);
    const ref = logp.map((l, i) => (i % 4 === 0 ? l : l + 4 * (rng() - 0.5)));
    const kl = e64.scope(() => e64.noGrad(() => k3KL(e64, e64.tensor(logp, [64]), e64.tensor(ref, [64]))));
    const v = Array.from(await kl.data());
    kl.dispose();
    assert.ok(v.every((k) => k >= 0), "k3 ≥ 0");
    assert.ok(v.every((k, i) => (i % 4 === 0 ? k === 0 : k > 0)), "0 exactly where the models agree, > 0 elsewhere");
    assertClose(v, logp.map((l, i) => Math.exp(ref[i]! - l) - (ref[i]! - l) - 1), { atol: 1e-14 }, "r − log r − 1");
  });

  test("tokenLogProbs equals gatherLast(logSoftmax) and has the gradient onehot − softmax", async () => {
    const rng = mulberry32(2);
    const [N, V] = [5, 7];
    const logits = normal(rng, N * V);
    const targets = ints(rng, N, V);
    const z = e64.parameter(logits, [N, V]);
    const [lp, ref] = e64.scope(() => {
      const t = e64.tensor(targets, [N], "i32");
      const lp = tokenLogProbs(e64, z, t);
      e64.backward(e64.sumAll(lp));
      const ref = e64.noGrad(() => e64.reshape(e64.gatherLast(e64.logSoftmax(z), e64.reshape(t, [N, 1])), [N]));
      return [lp, ref];
    });
    assertClose(await lp.data(), await ref.data(), { atol: 1e-15 }, "log π(a)");
    const p = hostLogSoftmax(logits, N, V).map((row) => row.map(Math.exp));
    const want = p.flatMap((row, n) => row.map((q, v) => (v === targets[n] ? 1 : 0) - q));
    assertClose(await z.grad!.data(), want, { atol: 1e-15 }, "gradient");
    for (const t of [lp, ref, z.grad!, z]) t.dispose();
  });
});

describe("errors", () => {
  const N = 4;
  const base = () => ({
    logp: e64.tensor([-1, -2, -1, -3], [N]), oldLogp: e64.tensor([-1, -2, -1, -3], [N]),
    refLogp: e64.tensor([-1, -2, -1, -3], [N]), advantages: e64.tensor([1, -1, 1, -1], [N]),
    mask: e64.tensor([1, 1, 1, 0], [N]), seqIds: e64.tensor([0, 0, 1, 1], [N], "i32"), numSequences: 2,
  });
  const bad = (change: object, opts: GrpoOptions, re: RegExp, kind: new (...a: never[]) => Error = Error) =>
    e64.scope(() => assert.throws(() => grpoLoss(e64, { ...base(), ...change }, opts), (err: unknown) => err instanceof kind && re.test((err as Error).message)));

  test("shapes, dtypes and constants", () => {
    bad({ oldLogp: e64.tensor([0, 0, 0], [3]) }, {}, /oldLogp has shape \[3\], but logp has \[4\]/, ShapeError);
    bad({ logp: e64.tensor([0, 0, 0, 0], [2, 2]) }, {}, /logp must be one value per token, shape \[N\], got \[2, 2\]/, ShapeError);
    bad({ mask: e64.tensor([1, 1, 1, 1], [N], "i32") }, {}, /mask must be f32, got i32/, DTypeError);
    bad({ seqIds: e64.tensor([0, 0, 1, 1], [N]) }, {}, /seqIds must be i32, got f32/, DTypeError);
    const grad = e64.parameter([0, 0, 0, 0], [N]);
    bad({ oldLogp: grad }, {}, /oldLogp must be a constant, but it requires a gradient/);
    grad.dispose();
    e64.scope(() => {
      assert.throws(() => tokenLogProbs(e64, e64.tensor([0, 0, 0, 0], [N]), e64.tensor([0, 0, 0, 0], [N], "i32")), /logits must be \[N, V\]/);
      assert.throws(() => tokenLogProbs(e64, e64.tensor([0, 0, 0, 0], [2, 2]), e64.tensor([0, 0, 0], [3], "i32")), /targets must be \[2\]/);
      assert.throws(() => tokenLogProbs(e64, e64.tensor([0, 0, 0, 0], [2, 2]), e64.tensor([0, 0], [2])), /targets must be i32/);
    });
  });

  test("options out of range, and what each normalisation needs", () => {
    for (const eps of [0, -0.1, NaN, Infinity]) bad({}, { eps }, /eps must be a finite number > 0/, RangeError);
    bad({}, { epsHigh: -0.2 }, /epsHigh must be a finite number > 0/, RangeError);
    bad({}, { beta: -1 }, /beta must be a finite number ≥ 0/, RangeError);
    bad({ refLogp: null }, { beta: 0.04 }, /beta = 0.04 needs refLogp/);
    bad({ seqIds: null }, { normalisation: "sequence" }, /"sequence" needs seqIds/);
    bad({ numSequences: 0 }, {}, /needs numSequences, a positive integer, got 0/, RangeError);
    bad({}, { normalisation: "constant" }, /"constant" needs constant/, RangeError);
    bad({}, { normalisation: "mean" as Normalisation }, /normalisation must be one of sequence, token, constant/, RangeError);
    // what "token" and "constant" do not need
    e64.scope(() => {
      grpoLoss(e64, { ...base(), seqIds: null, numSequences: undefined }, { normalisation: "token" });
      grpoLoss(e64, { ...base(), seqIds: null }, { normalisation: "constant", constant: 8 });
    });
  });
});

describe("packRollouts", () => {
  test("prompt + completion, shifted by one, right-padded; the mask covers exactly the completion", () => {
    const p = packRollouts([[1, 2], [1]], [[7, 8, 9], [5]], [0.5, -1]);
    assert.equal(p.B, 2);
    assert.equal(p.T, 4); // longest sequence: 5 tokens → 4 predictions
    assert.deepEqual([...p.ids], [1, 2, 7, 8, /**/ 1, 0, 0, 0]);
    assert.deepEqual([...p.targets], [2, 7, 8, 9, /**/ 5, 0, 0, 0]);
    assert.deepEqual([...p.mask], [0, 1, 1, 1, /**/ 1, 0, 0, 0]);
    assert.deepEqual([...p.seqIds], [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.deepEqual([...p.advantages], [0, 0.5, 0.5, 0.5, -1, 0, 0, 0]);
    assert.deepEqual(p.lengths, [3, 1]);
    assert.throws(() => packRollouts([[1]], [[2], [3]], [0]), /1 prompts, 2 completions and 1 advantages/);
  });
});

describe("WebGPU", () => {
  test("loss, ∂loss/∂logits and stats match the CPU on a random batch (β > 0, clip-higher, every normalisation)", () => withBackends(async (b) => {
    const rng = mulberry32(21);
    const [N, V, S] = [24, 11, 6];
    const seqIds = Array.from({ length: N }, (_, n) => Math.floor(n / 4));
    const c: Case = {
      N, V, logits: f32(normal(rng, N * V)), targets: ints(rng, N, V), rho: uniform(rng, N, 0.5, 1.6),
      refRatio: uniform(rng, N, 0.5, 2), adv: seqIds.map((i) => [1.2, -0.4, 0.9, -1.5, 0.3, -0.7][i]!),
      mask: seqIds.map((_, n) => (n % 4 === 0 ? 0 : 1)), seqIds, S,
    };
    const cpu = new Engine(b.cpu);
    const gpu = new Engine(b.gpu);
    for (const normalisation of NORMALISATIONS) {
      const o: GrpoOptions = { eps: 0.2, epsHigh: 0.28, beta: 0.04, normalisation, constant: 30 };
      const want = await engineRun(cpu, c, o);
      poison(b);
      const got = await engineRun(gpu, c, o);
      assertClose([got.loss], [want.loss], { rtol: 1e-5, atol: 1e-7 }, `${normalisation}: loss`);
      assertClose(got.grad, want.grad, { atol: 1e-6 }, `${normalisation}: ∂loss/∂logits`);
      assertClose([got.stats.kl, got.stats.clipFraction, got.stats.ratio], [want.stats.kl, want.stats.clipFraction, want.stats.ratio], { atol: 1e-6 }, `${normalisation}: stats`);
      assert.ok(want.stats.clipFraction > 0, "some tokens are clipped, so the test covers the clip");
    }
  }));
});

describe("end to end", () => {
  test("a 1-layer GPT learns by GRPO to include a rewarded token (CPU, 20 steps)", async () => {
    const engine = new Engine(new CpuBackend());
    const config: GPTConfig = {
      vocabSize: 16, dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 2, dFF: 32,
      maxSeqLen: 8, ropeTheta: 10000, tiedHead: false, normEps: 1e-5,
    };
    const policy = new GPT(engine, config, 1);
    const reference = new GPT(engine, config, 1); // the same initial weights, never trained
    const params = policy.parameters();
    const lr = 1e-2;
    const optimizer = new AdamW(engine, params.map((p) => p.tensor), { lr, weightDecay: 0, maxGradNorm: 1 });
    const [G, newTokens, rewarded, steps, updatesPerRollout] = [16, 4, 5, 20, 2];
    const prompt = [0];
    const rewardLog: number[] = [];
    const records: string[] = [];
    for (let step = 0; step < steps; step++) {
      const prompts = new Array<number[]>(G).fill(prompt);
      const { tokens } = await generate(policy, prompts, {
        temperature: 1, topK: 0, topP: 1, maxNewTokens: newTokens, stopTokens: [], seed: 1000 + step,
      });
      const rewards = tokens.map((t) => (t.includes(rewarded) ? 1 : 0));
      rewardLog.push(rewards.reduce((s: number, r) => s + r, 0) / G);
      const adv = groupAdvantages(rewards, G);
      const pack = packRollouts(prompts, tokens, adv.advantages);
      const N = pack.B * pack.T;
      const ids = engine.tensor(pack.ids, [pack.B, pack.T], "i32");
      const targets = engine.tensor(pack.targets, [N], "i32");
      // π_old and π_ref: constants for every update of this rollout
      const [oldLogp, refLogp] = engine.noGrad(() => [
        engine.keep(tokenLogProbs(engine, policy.forward(ids), targets)),
        engine.keep(tokenLogProbs(engine, reference.forward(ids), targets)),
      ]);
      const batch = {
        oldLogp, refLogp, advantages: engine.tensor(pack.advantages, [N]), mask: engine.tensor(pack.mask, [N]),
        seqIds: engine.tensor(pack.seqIds, [N], "i32"), numSequences: pack.B,
      };
      for (let u = 0; u < updatesPerRollout; u++) {
        let stats: Tensor | null = null;
        const { loss } = await trainStep(engine, optimizer, () => {
          const out = grpoLoss(engine, { ...batch, logp: tokenLogProbs(engine, policy.forward(ids), targets) }, { beta: 0.04 });
          stats = engine.keep(out.stats);
          return out.loss;
        }, lr, step);
        const s = await readGrpoStats(stats!);
        if (u === updatesPerRollout - 1) {
          records.push(`step ${step}: reward ${rewardLog[step]!.toFixed(3)}, loss ${loss.toFixed(4)}, kl ${s.kl.toFixed(4)}, clip ${s.clipFraction.toFixed(3)}, ratio ${s.ratio.toFixed(3)}`);
        }
      }
      for (const t of [ids, targets, oldLogp, refLogp, batch.advantages, batch.mask, batch.seqIds]) t.dispose();
    }
    optimizer.dispose();
    policy.dispose();
    reference.dispose();
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const first = mean(rewardLog.slice(0, 5));
    const last = mean(rewardLog.slice(-5));
    console.log(records.join("\n"));
    console.log(`mean reward, first 5 steps: ${first.toFixed(3)}; last 5 steps: ${last.toFixed(3)}`);
    assert.ok(last > first + 0.3 && last > 0.7, `reward rose from ${first} to ${last}`);
  });
});

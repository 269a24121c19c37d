// DeepSeekMoE (src/nn/moe.ts): the router's gates follow V2's and V3's formulas and
// the bias steers only the choice; the dense dispatch equals a per-token loop over the
// chosen experts; every gradient passes a float64 finite-difference check and
// WebGPU's match the CPU's; the balance loss, load statistics and bias rule are
// right on crafted cases; without balancing a router that favours one expert keeps
// (almost) every token on it, and balancing spreads the load; a GPT with MoE
// layers trains the same on WebGPU as on the CPU; bad configs are refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { createBackend } from "../../src/tensor/create.js";
import type { Backend } from "../../src/tensor/backend.js";
import { Engine, type Tensor } from "../../src/tensor/engine.js";
import { Rng } from "../../src/tensor/random.js";
import { MoE, Router, expertLoad, type MoEConfig, type RouterConfig } from "../../src/nn/moe.js";
import { GPT, validateGPTConfig, type GPTConfig, type MoEOptions } from "../../src/nn/gpt.js";
import { AdamW } from "../../src/optim/adamw.js";
import { trainStep } from "../../src/train/step.js";
import { generate, generateWithoutCache, type GenerateOptions } from "../../src/sample/generate.js";
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.js";
import { loadModelTensors, modelTensors } from "../../src/train/checkpoint.js";
import { numericGradOf } from "./helpers/finite-diff.js";
import { assertClose } from "./helpers/assert-close.js";
import { countingBatch } from "./helpers/batches.js";

const f64 = () => new Engine(new CpuBackend({ precision: "f64" }));
const host = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

// ---- a host reference, written as plainly as possible ----------------------------------

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const silu = (z: number) => z * sigmoid(z);
function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const ex = z.map((v) => Math.exp(v - m));
  const s = ex.reduce((a, b) => a + b, 0);
  return ex.map((v) => v / s);
}

/** one token's routing: scores, chosen experts (by score + bias, best first) and their gates */
function hostRoute(x: number[], W: number[], bias: ArrayLike<number>, cfg: RouterConfig) {
  const { nRouted: E, topK: k, dModel: C } = cfg;
  const logits = Array.from({ length: E }, (_, i) => x.reduce((s, xc, c) => s + xc * W[i * C + c]!, 0));
  const scores = cfg.scoring === "softmax" ? softmax(logits) : logits.map(sigmoid);
  const biased = scores.map((s, i) => s + bias[i]!);
  const order = [...biased.keys()].sort((a, b) => biased[b]! - biased[a]! || a - b);
  const chosen = order.slice(0, k);
  const norm = cfg.scoring === "softmax" ? 1 : chosen.reduce((s, i) => s + scores[i]!, 0);
  const gates = chosen.map((i) => (scores[i]! / norm) * cfg.routeScale);
  const total = scores.reduce((a, b) => a + b, 0);
  const probs = scores.map((s) => s / total);
  // the gap between the last chosen and the best unchosen biased score (ties would make
  // finite differences and float32-vs-float64 comparisons meaningless)
  const margin = k < E ? biased[order[k - 1]!]! - biased[order[k]!]! : Infinity;
  return { scores, probs, chosen, gates, margin };
}

/** SwiGLU of expert e from stacked weights gate/up [E, H, C] and down [E, C, H] */
function hostFFN(x: number[], wg: number[], wu: number[], wd: number[], e: number, H: number, C: number): number[] {
  const h = Array.from({ length: H }, (_, j) => {
    let g = 0, u = 0;
    for (let c = 0; c < C; c++) {
      g += wg[(e * H + j) * C + c]! * x[c]!;
      u += wu[(e * H + j) * C + c]! * x[c]!;
    }
    return silu(g) * u;
  });
  return Array.from({ length: C }, (_, c) => h.reduce((s, hj, j) => s + wd[(e * C + c) * H + j]! * hj, 0));
}

/** the MoE layer token by token, running only the chosen experts */
async function hostMoE(m: MoE, xs: number[]) {
  const { dModel: C, expertDim: H, nShared, nRouted: E } = m.cfg;
  const W = await host(m.router.weight);
  const [wg, wu, wd] = [await host(m.wGate), await host(m.wUp), await host(m.wDown)];
  const shared = m.shared ? [await host(m.shared.gate.weight), await host(m.shared.up.weight), await host(m.shared.down.weight)] : null;
  const N = xs.length / C;
  const out: number[] = [];
  const tokens = new Array<number>(E).fill(0);
  let entropy = 0;
  let minMargin = Infinity;
  const routes = [];
  for (let t = 0; t < N; t++) {
    const x = xs.slice(t * C, (t + 1) * C);
    const r = hostRoute(x, W, m.router.bias, m.cfg);
    routes.push(r);
    minMargin = Math.min(minMargin, r.margin);
    const y = shared ? hostFFN(x, shared[0]!, shared[1]!, shared[2]!, 0, nShared * H, C) : new Array<number>(C).fill(0);
    r.chosen.forEach((i, j) => {
      tokens[i]!++;
      hostFFN(x, wg, wu, wd, i, H, C).forEach((v, c) => (y[c]! += r.gates[j]! * v));
    });
    entropy -= r.probs.reduce((s, p) => s + (p > 0 ? p * Math.log(p) : 0), 0) / N;
    out.push(...y);
  }
  return { out, tokens, entropy, minMargin, routes };
}

const MOE: MoEConfig = { dModel: 6, nRouted: 5, topK: 2, expertDim: 3, nShared: 1, scoring: "sigmoid", routeScale: 1, balanceAlpha: 0 };

// ---- the router ---------------------------------------------------------------------------

test("router: V2 gates are the softmax scores of the chosen experts (not renormalised), V3's the chosen sigmoids normalised × routeScale", async () => {
  const e = f64();
  const N = 7, C = 6;
  const cases: RouterConfig[] = [
    { dModel: C, nRouted: 5, topK: 2, scoring: "softmax", routeScale: 1 },
    { dModel: C, nRouted: 5, topK: 3, scoring: "sigmoid", routeScale: 2.5 },
    { dModel: C, nRouted: 4, topK: 4, scoring: "sigmoid", routeScale: 1 },
  ];
  for (const cfg of cases) {
    const label = `${cfg.scoring}, k ${cfg.topK} of ${cfg.nRouted}`;
    const router = new Router(e, cfg, new Rng(1));
    const xs = Array.from(new Rng(2).normals(N * C, 1));
    const r = router.forward(e.tensor(xs, [N, C]));
    const W = await host(router.weight);
    const [indices, gates, weights, mask] = [await host(r.indices), await host(r.gates), await host(r.weights), await host(r.mask)];
    for (let t = 0; t < N; t++) {
      const ref = hostRoute(xs.slice(t * C, (t + 1) * C), W, router.bias, cfg);
      assert.deepEqual(indices.slice(t * cfg.topK, (t + 1) * cfg.topK), ref.chosen, `${label}: token ${t} chooses the top-k`);
      assertClose(gates.slice(t * cfg.topK, (t + 1) * cfg.topK), ref.gates, { atol: 1e-12 }, `${label}: token ${t} gates`);
      const sum = ref.gates.reduce((a, b) => a + b, 0);
      if (cfg.scoring === "softmax") assert.ok(sum < 1 - 1e-3, `${label}: V2 gates are not renormalised (sum ${sum})`);
      else assert.ok(Math.abs(sum - cfg.routeScale) < 1e-12, `${label}: V3 gates sum to routeScale`);
      for (let i = 0; i < cfg.nRouted; i++) {
        const j = ref.chosen.indexOf(i);
        assert.equal(mask[t * cfg.nRouted + i], j >= 0 ? 1 : 0, `${label}: mask`);
        assert.equal(weights[t * cfg.nRouted + i], j >= 0 ? gates[t * cfg.topK + j] : 0, `${label}: weights [N, E] hold the gates, 0 elsewhere`);
      }
    }
    router.dispose();
  }
});

test("router: a bias changes which experts are chosen, not the gate formula (crafted case)", async () => {
  const e = f64();
  // W = identity, so each token's logits are the token itself
  const E = 4;
  const x = e.tensor([2, 1, 0, -1], [1, E]);
  for (const scoring of ["sigmoid", "softmax"] as const) {
    const router = new Router(e, { dModel: E, nRouted: E, topK: 2, scoring, routeScale: 1 }, new Rng(1));
    e.assign(router.weight, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const s = scoring === "sigmoid" ? [2, 1, 0, -1].map(sigmoid) : softmax([2, 1, 0, -1]);
    const gate = (i: number, j: number) => (scoring === "sigmoid" ? s[i]! / (s[i]! + s[j]!) : s[i]!);

    let r = router.forward(x);
    assert.deepEqual(await host(r.indices), [0, 1], `${scoring}: without a bias, the two best`);
    assertClose(await host(r.gates), [gate(0, 1), gate(1, 0)], { atol: 1e-12 }, `${scoring}: gates`);

    router.setBias([0, 0, 1, 0]); // expert 2 (logit 0) now outranks expert 1, even expert 0
    r = router.forward(x);
    assert.deepEqual(await host(r.indices), [2, 0], `${scoring}: the bias changes the choice`);
    // the gate of expert 2 uses its unbiased score s_2, not s_2 + 1
    assertClose(await host(r.gates), [gate(2, 0), gate(0, 2)], { atol: 1e-12 }, `${scoring}: gates from unbiased scores`);
    assert.deepEqual(router.parameters().map((p) => p.name), ["weight"], "the bias is not a parameter");
    router.dispose();
  }
});

// ---- the layer: dense dispatch is exact ------------------------------------------------------

test("cpu float64: the dense-dispatch MoE equals a per-token loop over the chosen experts only", async () => {
  const e = f64();
  const B = 2, T = 4;
  const cases: MoEConfig[] = [
    { ...MOE, scoring: "softmax" },
    { ...MOE, scoring: "sigmoid", nShared: 2, routeScale: 2.5 },
    { ...MOE, scoring: "sigmoid", nShared: 0, topK: 1 },
  ];
  for (const cfg of cases) {
    const label = `${cfg.scoring}, ${cfg.nShared} shared, k ${cfg.topK}`;
    const m = new MoE(e, cfg, new Rng(5));
    m.router.setBias([0.05, -0.1, 0.2, 0, -0.05]); // the choice goes through the bias too
    const xs = Array.from(new Rng(6).normals(B * T * cfg.dModel, 1));
    const y = await host(m.forward(e.tensor(xs, [B, T, cfg.dModel])));
    const ref = await hostMoE(m, xs);
    assertClose(y, ref.out, { atol: 1e-12 }, `${label}: output`);
    const load = await m.readLoad();
    assert.deepEqual(load.tokens, ref.tokens, `${label}: tokens per expert`);
    assert.equal(load.tokens.reduce((a, b) => a + b, 0), B * T * cfg.topK, `${label}: k choices per token`);
    assert.ok(Math.abs(load.routerEntropy - ref.entropy) < 1e-12, `${label}: router entropy ${load.routerEntropy} vs ${ref.entropy}`);
    m.dispose();
  }
});

// Float64 central differences of L = Σ w ⊙ MoE(x) + L_Bal against Engine.backward for
// every element of every parameter and of x. The chosen experts must not change
// under a ±1e-6 nudge: the test asserts a margin of 1e-3 between the k-th and the
// (k+1)-th biased score of every token.
test("cpu float64: router, expert, shared-expert and input gradients pass a finite-difference check (with the balance loss, with and without a token mask)", async () => {
  const e = f64();
  const EPS = 1e-6;
  const B = 2, T = 4;
  for (const [scoring, maskData] of [["softmax", null], ["sigmoid", null], ["sigmoid", [1, 1, 0, 1, 0, 1, 1, 0]]] as const) {
    const cfg: MoEConfig = { ...MOE, scoring, routeScale: scoring === "sigmoid" ? 2.5 : 1, balanceAlpha: 0.3 };
    const m = new MoE(e, cfg, new Rng(7));
    const rng = new Rng(8);
    const xData = Array.from(rng.normals(B * T * cfg.dModel, 1));
    const w = e.tensor(rng.normals(B * T * cfg.dModel, 1), [B, T, cfg.dModel]);
    const x = e.parameter(xData, [B, T, cfg.dModel]);
    const { minMargin } = await hostMoE(m, xData);
    assert.ok(minMargin > 1e-3, `${scoring}: no near-tie in the routing (margin ${minMargin})`);
    const tokenMask = maskData ? e.tensor(maskData, [B, T]) : null;
    const lossOf = () => e.add(e.sumAll(e.mul(m.forward(x, tokenMask), w)), m.lastBalanceLoss!);
    const L = async () => e.noGrad(() => e.scope(async () => (await lossOf().data())[0]!));
    const leaves = [...m.parameters(), { name: "x", tensor: x, decay: false }];
    e.scope(() => e.backward(lossOf()));
    for (const p of leaves) {
      const analytic = await p.tensor.grad!.data();
      const numeric = await numericGradOf(e, p.tensor, L, EPS);
      const label = `${scoring}${maskData ? ", masked" : ""}: ${p.name}`;
      assert.ok(numeric.some((g) => Math.abs(g) > 1e-4), `${label}: the numeric gradient is not all zero`);
      assertClose(analytic, numeric, { atol: 1e-7, rtol: 1e-6 }, label);
    }
    // the balance loss alone moves the router (through P): its gradient is not zero
    e.zeroGrad(leaves.map((p) => p.tensor));
    e.scope(() => {
      m.forward(x);
      e.backward(m.lastBalanceLoss!);
    });
    assert.ok((await host(m.router.weight.grad!)).some((g) => Math.abs(g) > 1e-6), `${scoring}: L_Bal reaches the router`);
    e.zeroGrad(leaves.map((p) => p.tensor));
    m.dispose();
    x.dispose();
  }
});

test("webgpu: an MoE layer's output, statistics and gradients match the CPU engine's (float64)", async (t) => {
  const B = 2, T = 8;
  const cfg: MoEConfig = { dModel: 16, nRouted: 6, topK: 2, expertDim: 8, nShared: 1, scoring: "sigmoid", routeScale: 2.5, balanceAlpha: 0.01 };
  const rng = new Rng(31);
  const xs = Array.from(rng.normals(B * T * cfg.dModel, 1));
  const ws = rng.normals(B * T * cfg.dModel, 1);
  async function run(backend: Backend) {
    const e = new Engine(backend);
    const m = new MoE(e, cfg, new Rng(34));
    m.router.setBias([0, 0.1, 0, -0.1, 0.05, 0]);
    const x = e.parameter(xs, [B, T, cfg.dModel]);
    const y = e.scope(() => {
      const out = m.forward(x);
      e.backward(e.add(e.sumAll(e.mul(out, e.tensor(ws, [B, T, cfg.dModel]))), m.lastBalanceLoss!));
      return out;
    });
    const res = { y: await host(y), stats: await host(m.lastStats!), grads: new Map<string, number[]>() };
    for (const p of [...m.parameters(), { name: "x", tensor: x }]) res.grads.set(p.name, await host(p.tensor.grad!));
    const margin = (await hostMoE(m, xs)).minMargin;
    m.dispose();
    x.dispose();
    return { ...res, margin };
  }
  const cpu = new CpuBackend({ precision: "f64" });
  const gpu = await createBackend("webgpu");
  try {
    const ref = await run(cpu);
    const got = await run(gpu);
    // float32 rounding (~1e-6) cannot flip a choice with this margin
    assert.ok(ref.margin > 1e-4, `no near-tie in the routing (margin ${ref.margin})`);
    assert.deepEqual(got.stats.slice(0, cfg.nRouted), ref.stats.slice(0, cfg.nRouted), "the same tokens per expert");
    assertClose(got.stats, ref.stats, { atol: 1e-5 }, "router entropy");
    assertClose(got.y, ref.y, { atol: 1e-5, rtol: 1e-5 }, "output");
    let worst = 0;
    for (const [name, g] of ref.grads) {
      const scale = Math.max(...g.map(Math.abs));
      assert.ok(scale > 0, `${name}: a gradient to compare`);
      const diff = Math.max(...g.map((v, i) => Math.abs(v - got.grads.get(name)![i]!)));
      worst = Math.max(worst, diff / scale);
      assertClose(got.grads.get(name)!, g, { atol: 1e-5 * scale, rtol: 1e-4 }, name);
    }
    t.diagnostic(`routing margin ${ref.margin.toExponential(2)}; largest |webgpu − cpu| gradient difference ${worst.toExponential(2)} of the gradient's scale`);
  } finally {
    cpu.destroy();
    gpu.destroy();
  }
});

// ---- balancing ------------------------------------------------------------------------------

test("balance loss: α Σ f_i P_i per sequence, averaged over sequences (crafted routing)", async () => {
  const e = f64();
  const E = 4, k = 1, T = 3, alpha = 0.1;
  const m = new MoE(e, { dModel: E, nRouted: E, topK: k, expertDim: 2, nShared: 0, scoring: "softmax", routeScale: 1, balanceAlpha: alpha }, new Rng(1));
  e.assign(m.router.weight, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]); // logits = x
  // sequence 0: every token picks expert 0 (collapsed); sequence 1: experts 1, 3, 2
  const logits = [[3, 0, 0, 0], [2, 1, 0, 0], [3, 0, 1, 0], [0, 2, 0, 0], [0, 0, 0, 2], [0, 1, 2, 0]];
  m.forward(e.tensor(logits.flat(), [2, T, E]));
  // by hand: f_i = E/(k·T) · count_i, P_i = mean over the sequence of softmax(logits)
  const f = [[4, 0, 0, 0], [0, 4 / 3, 4 / 3, 4 / 3]];
  let expected = 0;
  for (let b = 0; b < 2; b++) {
    const P = [0, 1, 2, 3].map((i) => logits.slice(b * T, (b + 1) * T).reduce((s, z) => s + softmax(z)[i]! / T, 0));
    expected += P.reduce((s, p, i) => s + f[b]![i]! * p, 0) / 2;
  }
  expected *= alpha;
  const got = (await host(m.lastBalanceLoss!))[0]!;
  assert.ok(Math.abs(got - expected) < 1e-12, `L_Bal ${got} vs ${expected} by hand`);
  const load = await m.readLoad();
  assert.deepEqual(load.tokens, [3, 1, 1, 1]);
  assert.deepEqual(load.fraction, [0.5, 1 / 6, 1 / 6, 1 / 6]);
  assert.equal(load.imbalance, 2, "max / mean = 3 / 1.5");
  // α = 0: no balance loss at all
  const off = new MoE(e, { ...m.cfg, balanceAlpha: 0 }, new Rng(1));
  off.forward(e.tensor(logits.flat(), [2, T, E]));
  assert.equal(off.lastBalanceLoss, null);
  m.dispose();
  off.dispose();
});

/**
 * The balance loss from scratch on the host: per sequence, over its counted tokens
 * (mask 1), f_i = E/(k·T_b)·#{t : i in the top-k of the UNBIASED scores of t} and
 * P_i = (1/T_b) Σ_t s_{i,t}/Σ_j s_{j,t}; α · mean over sequences with counted tokens.
 */
function hostBalanceLoss(xs: number[], W: number[], cfg: MoEConfig, B: number, T: number, mask: number[] | null): number {
  const { dModel: C, nRouted: E, topK: k } = cfg;
  const noBias = new Array<number>(E).fill(0);
  let total = 0;
  let seqs = 0;
  for (let b = 0; b < B; b++) {
    const f = new Array<number>(E).fill(0);
    const P = new Array<number>(E).fill(0);
    let Tb = 0;
    for (let t = 0; t < T; t++) {
      const n = b * T + t;
      if (mask && mask[n] === 0) continue;
      Tb++;
      const r = hostRoute(xs.slice(n * C, (n + 1) * C), W, noBias, cfg);
      for (const i of r.chosen) f[i]! += 1;
      r.probs.forEach((p, i) => (P[i]! += p));
    }
    if (Tb === 0) continue;
    seqs++;
    for (let i = 0; i < E; i++) total += ((E / (k * Tb)) * f[i]!) * (P[i]! / Tb);
  }
  return (cfg.balanceAlpha * total) / Math.max(1, seqs);
}

test("balance loss: V3 sigmoid (k = 3) and V2 softmax (k = 2) values equal a host computation; f counts the unbiased top-k; a token mask limits it to the counted tokens", async () => {
  const e = f64();
  const B = 3, T = 5;
  const cases: MoEConfig[] = [
    { ...MOE, scoring: "sigmoid", topK: 3, routeScale: 2.5, balanceAlpha: 0.7 },
    { ...MOE, scoring: "softmax", topK: 2, routeScale: 1, balanceAlpha: 0.3 },
  ];
  // sequence 1 counts two tokens, sequence 2 none (it must count for nothing, not as an empty share)
  const tokenMask = [1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const cfg of cases) {
    const m = new MoE(e, cfg, new Rng(11));
    const xs = Array.from(new Rng(12).normals(B * T * cfg.dModel, 1));
    const W = await host(m.router.weight);
    const bias = [0.3, -0.2, 0, 0.15, -0.3];
    m.router.setBias(bias);
    // the bias must change some token's choice, or this test could not tell biased from unbiased f
    const changed = Array.from({ length: B * T }, (_, n) => {
      const x = xs.slice(n * cfg.dModel, (n + 1) * cfg.dModel);
      return hostRoute(x, W, bias, cfg).chosen.join() !== hostRoute(x, W, [0, 0, 0, 0, 0], cfg).chosen.join();
    }).filter(Boolean).length;
    assert.ok(changed > 0, `${cfg.scoring}: the bias changes some choices`);
    for (const mask of [null, tokenMask]) {
      const label = `${cfg.scoring}, k ${cfg.topK}, ${mask ? "masked" : "no mask"}`;
      m.forward(e.tensor(xs, [B, T, cfg.dModel]), mask ? e.tensor(mask, [B, T]) : null);
      const got = (await host(m.lastBalanceLoss!))[0]!;
      const expected = hostBalanceLoss(xs, W, cfg, B, T, mask);
      assert.ok(Math.abs(got - expected) < 1e-12, `${label}: L_Bal ${got} vs ${expected} on the host`);
    }
    m.dispose();
  }
});

test("a token mask: the load statistics and router entropy count only the masked-in tokens; the output does not change", async () => {
  const e = f64();
  const B = 2, T = 4;
  const cfg: MoEConfig = { ...MOE, topK: 2 };
  const m = new MoE(e, cfg, new Rng(21));
  const xs = Array.from(new Rng(22).normals(B * T * cfg.dModel, 1));
  const mask = [0, 0, 1, 1, 1, 0, 0, 1];
  const x = e.tensor(xs, [B, T, cfg.dModel]);
  const plain = await host(m.forward(x));
  const masked = await host(m.forward(x, e.tensor(mask, [B, T])));
  assert.deepEqual(masked, plain, "every position is still routed and computed");
  const ref = await hostMoE(m, xs);
  const tokens = new Array<number>(cfg.nRouted).fill(0);
  let entropy = 0;
  ref.routes.forEach((r, n) => {
    if (!mask[n]) return;
    for (const i of r.chosen) tokens[i]!++;
    entropy -= r.probs.reduce((s, p) => s + p * Math.log(p), 0) / 4;
  });
  const load = await m.readLoad();
  assert.deepEqual(load.tokens, tokens, "tokens per expert over the 4 counted positions");
  assert.equal(load.tokens.reduce((a, b) => a + b, 0), 4 * cfg.topK);
  assert.ok(Math.abs(load.routerEntropy - entropy) < 1e-12, `entropy ${load.routerEntropy} vs ${entropy}`);
  assert.throws(() => m.forward(x, e.tensor([1, 1, 1], [3])), /tokenMask has 3 values for 8 tokens/);
  m.dispose();
});

test("updateBias: b_i += γ·sign(mean load − load_i) moves the bias toward under-loaded experts, and the choice with it", async () => {
  const e = f64();
  const router = new Router(e, { dModel: 4, nRouted: 4, topK: 1, scoring: "sigmoid", routeScale: 1 }, new Rng(1));
  router.updateBias([6, 2, 0, 4], 0.1); // mean 3
  assertClose(router.bias, [-0.1, 0.1, 0.1, -0.1], { atol: 1e-7 }, "over-loaded down, under-loaded up (float32)");
  router.updateBias([3, 3, 3, 3], 0.1);
  assertClose(router.bias, [-0.1, 0.1, 0.1, -0.1], { atol: 1e-7 }, "a balanced load leaves the bias alone");
  assert.throws(() => router.updateBias([1, 2, 3], 0.1), /load for 3 experts, the router has 4/);
  // every token prefers expert 0; after a few updates the uploaded bias sends some elsewhere
  router.setBias([0, 0, 0, 0]);
  e.assign(router.weight, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  const x = e.tensor(Array.from({ length: 8 }, (_, t) => [1 + t / 10, 0, 0, 0]).flat(), [8, 4]);
  const chosen = async () => host(router.forward(x).indices);
  assert.deepEqual(await chosen(), [0, 0, 0, 0, 0, 0, 0, 0]);
  for (let s = 0; s < 10; s++) {
    const counts = [0, 0, 0, 0];
    for (const i of await chosen()) counts[i]!++;
    router.updateBias(counts, 0.05);
  }
  const after = await chosen();
  assert.ok(after.some((i) => i !== 0), `tokens leave expert 0 (${after.join(",")}; bias ${Array.from(router.bias).join(",")})`);
  router.dispose();
});

/**
 * 300 AdamW steps of one MoE layer (softmax scores, k = 1 of E = 4, no shared expert)
 * fitting a random teacher MoE on 4 sequences of 16 tokens, with its router
 * initialised to favour expert 0 (a constant input feature and a weight of 4 on it).
 * Returns the max/mean load per step and the final mean squared error.
 */
async function collapseRun(balance: "none" | "bias" | "loss") {
  const E = 4, C = 8, H = 8, B = 4, T = 16, N = B * T;
  const cfg: MoEConfig = { dModel: C, nRouted: E, topK: 1, expertDim: H, nShared: 0, scoring: "softmax", routeScale: 1, balanceAlpha: balance === "loss" ? 0.1 : 0 };
  const e = new Engine(new CpuBackend());
  const student = new MoE(e, cfg, new Rng(1));
  const teacher = new MoE(e, { ...cfg, balanceAlpha: 0 }, new Rng(2));
  const xs = new Rng(3).normals(N * C, 1);
  for (let n = 0; n < N; n++) xs[n * C] = 1;
  const w = await host(student.router.weight);
  w[0] = 4; // expert 0's weight on the constant feature
  e.assign(student.router.weight, w);
  const x = e.tensor(xs, [B, T, C]);
  const y = e.noGrad(() => teacher.forward(x));
  const opt = new AdamW(e, student.parameters().map((p) => p.tensor), { lr: 0.01, weightDecay: 0, maxGradNorm: 1 });
  const imbalance: number[] = [];
  let first: number[] = [];
  let last: number[] = [];
  for (let s = 0; s < 300; s++) {
    await trainStep(e, opt, () => {
      const mse = e.meanAll(e.square(e.sub(student.forward(x), y)));
      return student.lastBalanceLoss ? e.add(mse, student.lastBalanceLoss) : mse;
    }, 0.01, s);
    const load = await student.readLoad(); // the load of this step's forward
    if (s === 0) first = load.tokens;
    last = load.tokens;
    imbalance.push(load.imbalance);
    if (balance === "bias") student.updateBias(load.tokens, 0.01);
  }
  const mse = (await host(e.noGrad(() => e.meanAll(e.square(e.sub(student.forward(x), y))))))[0]!;
  opt.dispose();
  student.dispose();
  teacher.dispose();
  const tail = imbalance.slice(-100);
  return { first, last, start: imbalance[0]!, tailMean: tail.reduce((a, b) => a + b, 0) / tail.length, tailMax: Math.max(...tail), mse };
}

test("collapse: a router that favours one expert keeps it without balancing; aux-loss-free bias updates (and the balance loss) spread the load", async (t) => {
  const none = await collapseRun("none");
  const bias = await collapseRun("bias");
  const loss = await collapseRun("loss");
  for (const [name, r] of [["no balancing", none], ["aux-loss-free bias, γ = 0.01", bias], ["balance loss, α = 0.1", loss]] as const) {
    t.diagnostic(
      `${name}: max/mean load ${r.start.toFixed(2)} at step 1 → mean ${r.tailMean.toFixed(2)} (max ${r.tailMax.toFixed(2)}) over the last 100 steps; ` +
        `tokens per expert ${r.first.join("/")} → ${r.last.join("/")}; final MSE ${r.mse.toExponential(2)}`,
    );
    assert.ok(r.start > 3.5, `${name}: starts collapsed (max/mean ${r.start}; 4 = every token on one expert)`);
  }
  assert.ok(none.tailMean > 3, `no balancing: stays collapsed (max/mean ${none.tailMean})`);
  assert.ok(none.last[0]! > 0.8 * 64, `no balancing: expert 0 keeps most tokens (${none.last.join("/")})`);
  assert.ok(bias.tailMean < 1.2, `bias updates: near balance (max/mean ${bias.tailMean})`);
  assert.ok(loss.tailMean < 1.3, `balance loss: near balance (max/mean ${loss.tailMean})`);
  assert.ok(bias.mse < none.mse, `using every expert fits the teacher better (${bias.mse} vs ${none.mse})`);
});

// ---- in a GPT ---------------------------------------------------------------------------------

const MOE_OPTS: MoEOptions = { kind: "moe", nShared: 1, nRouted: 4, topK: 2, expertDim: 8, scoring: "sigmoid", balanceAlpha: 0.01, denseLayers: 1 };
const MOE_GPT: GPTConfig = {
  vocabSize: 13, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 24,
  maxSeqLen: 9, ropeTheta: 10000, tiedHead: true, normEps: 1e-5, mlp: MOE_OPTS,
};

test("GPT with MoE: dense first layers, parameter names, active FLOPs and parameters, aux outputs", async () => {
  const e = new Engine(new CpuBackend());
  const config: GPTConfig = { ...MOE_GPT, nLayers: 3, mlp: { ...MOE_OPTS, denseLayers: 1 } };
  const model = new GPT(e, config, 1);
  const names = model.parameters().map((p) => p.name);
  assert.ok(names.includes("blocks.0.mlp.gate.weight"), "block 0 stays dense");
  for (const n of ["router.weight", "shared.gate.weight", "experts.gate.weight", "experts.up.weight", "experts.down.weight"]) {
    assert.ok(names.includes(`blocks.1.mlp.${n}`) && names.includes(`blocks.2.mlp.${n}`), n);
  }
  assert.equal(model.moeLayers().length, 2);
  const { dModel: C, dFF } = config;
  const { nRouted: E, topK: k, expertDim: H, nShared } = MOE_OPTS;
  // FLOPs: the dense model's count with each MoE layer's SwiGLU replaced by router + shared + k routed
  const dense = new GPT(e, { ...config, mlp: undefined }, 1);
  const moeLayer = 2 * C * E + 2 * 3 * C * H * (nShared + k);
  assert.equal(model.flopsPerToken(7), dense.flopsPerToken(7) - 2 * (2 * 3 * C * dFF) + 2 * moeLayer);
  // active parameters: all but the E − k routed experts a token does not use, per MoE layer
  assert.equal(model.activeParameterCount(), model.parameterCount() - 2 * (E - k) * 3 * C * H);
  assert.equal(dense.activeParameterCount(), dense.parameterCount());
  // the aux outputs of a forward
  const ids = e.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], "i32");
  const targets = e.tensor([2, 3, 4, 5, 6, 7, 8, 9], [2, 4], "i32");
  const [total, ce, bal] = await e.scope(async () => {
    const l = model.trainingLoss(ids, targets);
    const aux = model.moeAux();
    assert.equal(aux.stats.length, 2);
    return [await l.item(), await model.loss(ids, targets).item(), await aux.balanceLoss!.item()];
  });
  assert.ok(Math.abs(total - (ce + bal)) < 1e-5 && bal > 0, `trainingLoss = loss + Σ L_Bal (${total} vs ${ce} + ${bal})`);
  const loads = await model.readExpertLoads();
  assert.equal(loads.length, 2);
  for (const l of loads) assert.equal(l.tokens.reduce((a, b) => a + b, 0), 8 * k, "k choices per token");
  assert.equal(dense.moeAux().balanceLoss, null);
  assert.deepEqual(await dense.readExpertLoads(), []);
  model.updateRouterBias(loads, 0.1);
  assert.ok(model.moeLayers().every((m) => m.router.bias.some((b) => b !== 0)), "each layer's bias moved");
  model.dispose();
  dense.dispose();
});

test("GPT with MoE: cached decoding equals recomputation, and a safetensors round trip keeps the logits and the routers' biases", async () => {
  const backend = new CpuBackend();
  const e = new Engine(backend);
  try {
    const model = new GPT(e, MOE_GPT, 4);
    const opts: GenerateOptions = { temperature: 0, topK: 0, topP: 1, maxNewTokens: 5, stopTokens: [], seed: 3 };
    const prompts = [[1, 5, 9], [2, 2, 3]];
    assert.deepEqual((await generate(model, prompts, opts)).tokens, (await generateWithoutCache(model, prompts, opts)).tokens);
    // the routers' balancing biases are not parameters, but the checkpoint must carry them
    model.moeLayers().forEach((m, i) => m.router.setBias(Array.from({ length: m.cfg.nRouted }, (_, j) => 0.37 * (j - i) - 0.11)));
    const file = await modelTensors(model);
    assert.equal(Object.keys(file).filter((k) => k.endsWith(".mlp.router.bias")).length, model.moeLayers().length, "one bias per MoE layer in the file");
    const loaded = new GPT(e, MOE_GPT, 99);
    loadModelTensors(loaded, decodeSafetensors(encodeSafetensors(file)).tensors);
    loaded.moeLayers().forEach((m, i) => assert.deepEqual(Array.from(m.router.bias), Array.from(model.moeLayers()[i]!.router.bias), `layer ${i} bias restored`));
    const ids = e.tensor([1, 5, 9, 2, 2, 3], [1, 6], "i32");
    assert.deepEqual(await host(e.noGrad(() => loaded.forward(ids))), await host(e.noGrad(() => model.forward(ids))));
    // a file without the biases (say, from before they were saved) is refused, naming one
    const withoutBias = Object.fromEntries(Object.entries(file).filter(([k]) => !k.endsWith("router.bias")));
    assert.throws(() => loadModelTensors(loaded, withoutBias), /router\.bias/);
    model.dispose();
    loaded.dispose();
  } finally {
    backend.destroy();
  }
});

// Per-step tolerance on the loss: |gpu − cpu| ≤ ATOL + RTOL·|cpu| (float32 on both;
// as in train-parity.test.ts: only the order of floating-point sums differs).
const STEPS = 20;
const ATOL = 1e-4;
const RTOL = 2e-3;

async function moeCurve(backend: Backend, dispatch: "dense" | "sparse" = "dense"): Promise<{ loss: number[]; imbalance: number[]; live: number[]; leftover: number }> {
  const engine = new Engine(backend);
  const before = backend.stats().liveBytes;
  const model = new GPT(engine, { ...MOE_GPT, mlp: { ...MOE_OPTS, dispatch } }, 7);
  const rng = new Rng(9);
  const B = 3, T = 9;
  const { ids, targets } = countingBatch(engine, rng, B, T, 13);
  const opt = new AdamW(engine, model.parameters().map((p) => p.tensor), { lr: 0.01, maxGradNorm: 1 });
  const loss: number[] = [];
  const imbalance: number[] = [];
  const live: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    loss.push((await trainStep(engine, opt, () => model.trainingLoss(ids, targets), 0.01, s)).loss);
    const loads = await model.readExpertLoads();
    imbalance.push(loads[0]!.imbalance);
    model.updateRouterBias(loads, 0.01);
    live.push(backend.stats().liveBytes);
  }
  opt.dispose();
  model.dispose();
  ids.dispose();
  targets.dispose();
  return { loss, imbalance, live, leftover: backend.stats().liveBytes - before };
}

test(`GPT with MoE (balance loss + bias updates) trains, and ${STEPS} steps on WebGPU, with dense and with sparse dispatch, match the CPU engine`, async (t) => {
  const cpu = await moeCurve(new CpuBackend());
  const gpuBackend = await createBackend("webgpu");
  let gpu: Awaited<ReturnType<typeof moeCurve>>;
  let gpuSparse: Awaited<ReturnType<typeof moeCurve>>;
  try {
    gpu = await moeCurve(gpuBackend);
    gpuSparse = await moeCurve(gpuBackend, "sparse");
  } finally {
    gpuBackend.destroy();
  }
  // sparse dispatch on WebGPU follows the CPU's dense-dispatch curve as closely as dense dispatch does
  for (let s = 0; s < STEPS; s++) {
    const diff = Math.abs(gpuSparse.loss[s]! - cpu.loss[s]!);
    assert.ok(diff <= ATOL + RTOL * Math.abs(cpu.loss[s]!), `sparse, step ${s}: webgpu ${gpuSparse.loss[s]} vs cpu ${cpu.loss[s]} (|diff| ${diff})`);
  }
  assert.deepEqual(gpuSparse.imbalance, cpu.imbalance, "sparse: the same routing at every step");
  assert.equal(new Set(gpuSparse.live).size, 1, `sparse: live bytes changed over the run: ${gpuSparse.live.join(", ")}`);
  assert.equal(gpuSparse.leftover, 0, "sparse: nothing left after dispose");
  assert.ok(cpu.loss[STEPS - 1]! < 0.8 * cpu.loss[0]!, `the model learns (loss ${cpu.loss[0]} → ${cpu.loss[STEPS - 1]})`);
  let worst = 0;
  for (let s = 0; s < STEPS; s++) {
    const diff = Math.abs(gpu.loss[s]! - cpu.loss[s]!);
    worst = Math.max(worst, diff);
    assert.ok(diff <= ATOL + RTOL * Math.abs(cpu.loss[s]!), `step ${s}: webgpu ${gpu.loss[s]} vs cpu ${cpu.loss[s]} (|diff| ${diff})`);
  }
  assert.deepEqual(gpu.imbalance, cpu.imbalance, "the same routing at every step");
  for (const r of [cpu, gpu]) {
    // each step replaces the kept statistics: memory stays flat, and dispose frees it all
    assert.equal(new Set(r.live).size, 1, `live bytes changed over the run: ${r.live.join(", ")}`);
    assert.equal(r.leftover, 0, "GPT.dispose frees the router biases and statistics too");
  }
  t.diagnostic(`loss ${cpu.loss[0]!.toFixed(4)} → ${cpu.loss[STEPS - 1]!.toFixed(4)} (cpu); largest |webgpu − cpu| ${worst.toExponential(2)}`);
});

// ---- configs ----------------------------------------------------------------------------------

test("bad MoE configs are refused with a message that says what to fix; no mlp field is the dense GPT as before", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ topK: 5 }, /topK .* 1\.\.nRouted = 1\.\.4, got 5/],
    [{ topK: 0 }, /topK .* got 0/],
    [{ nRouted: 0 }, /nRouted .* positive integer, got 0.*dense FFN/],
    [{ nShared: -1 }, /nShared .* integer ≥ 0, got -1/],
    [{ expertDim: 0 }, /expertDim .* positive integer/],
    [{ scoring: "relu" }, /scoring must be "softmax" .* or "sigmoid"/],
    [{ routeScale: 0 }, /routeScale must be a positive number/],
    [{ balanceAlpha: -1 }, /balanceAlpha must be a number ≥ 0/],
    [{ denseLayers: 2 }, /denseLayers must be an integer in 0\.\.nLayers − 1 = 0\.\.1/],
    [{ biasUpdateSpeed: -0.01 }, /biasUpdateSpeed .* must be a number ≥ 0/],
    [{ dispatch: "scatter" }, /dispatch must be "dense" or "sparse"/],
    [{ kind: "mixture" }, /mlp must be \{ kind: "moe"/],
  ];
  for (const [opts, message] of bad) {
    const config = { ...MOE_GPT, mlp: { ...MOE_OPTS, ...opts } } as GPTConfig;
    assert.throws(() => validateGPTConfig(config), message, JSON.stringify(opts));
    assert.throws(() => new GPT(new Engine(new CpuBackend()), config, 1), message);
  }
  assert.throws(
    () => new MoE(new Engine(new CpuBackend()), { ...MOE, topK: 6 }, new Rng(1)),
    /MoE config: topK .* 1\.\.5, got 6/,
  );
  assert.throws(() => expertLoad([1, 2], 4), /expected 5 values/);
  // MoE with MLA is fine; a GPT without mlp has no MoE layer and the SwiGLU names of before
  validateGPTConfig({ ...MOE_GPT, nKvHeads: 4, attention: { kind: "mla", dC: 8, dCq: 0, dR: 4 } });
  const dense = new GPT(new Engine(new CpuBackend()), { ...MOE_GPT, mlp: undefined }, 1);
  assert.equal(dense.moeLayers().length, 0);
  assert.ok(dense.parameters().every((p) => !/router|experts|shared/.test(p.name)));
});

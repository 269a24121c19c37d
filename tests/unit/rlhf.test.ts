// The RLHF lesson's pieces: the gold preference rule and its noisy labels, the
// Bradley–Terry loss (value, hand gradient, finite differences), the reward model
// (padding never changes a score; it loads an SFT checkpoint as it is), DPO (its
// closed form; no gradient when policy = reference on a tied pair), calibration
// bins, and GRPO with a pluggable learned reward.
//
// Float64 CPU engine throughout: the hand formulas and autograd then agree to ~1e-15;
// finite differences (step 1e-6) to ~1e-9.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CpuBackend } from "../../src/cpu/index.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { RewardModel, packSequences } from "../../src/nn/reward-model.js";
import { sampleGroups } from "../../src/rl/groups.js";
import { bradleyTerryLoss, dpoLoss, negLogSigmoid, sequenceLogProbs } from "../../src/rl/preference.js";
import { CHAT, encode, generateProblems, goldScore, labelPairs } from "../../src/tasks/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { modelTensors, loadModelTensors } from "../../src/train/checkpoint.js";
import { calibrationBins } from "../../src/train/rm.js";
import { assertClose } from "./helpers/assert-close.js";
import { numericGradOf } from "./helpers/finite-diff.js";
import { mulberry32, normal } from "./helpers/random.js";

const e64 = new Engine(new CpuBackend({ precision: "f64" }));
const sigma = (z: number) => 1 / (1 + Math.exp(-z));
const TINY: GPTConfig = { vocabSize: 101, dModel: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, dFF: 32, maxSeqLen: 48, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 };

describe("the gold preference rule", () => {
  const q = "3+4";
  test("correct beats wrong, well-formed beats malformed, shorter beats longer", () => {
    const good = "<think>3+4=7</think>\n<answer>7</answer>";
    const wrong = "<think>3+4=8</think>\n<answer>8</answer>";
    const malformed = "<answer>7</answer>";
    assert.equal(goldScore(wrong, 20, q, "7"), 0);
    assert.equal(goldScore(malformed, 5, q, "7"), 1);
    assert.ok(goldScore(good, 20, q, "7") > goldScore(good, 30, q, "7"), "shorter wins");
    assert.ok(goldScore(good, 256, q, "7") > goldScore(malformed, 5, q, "7"), "any well-formed correct reply beats a malformed one");
    assert.equal(goldScore(good, 20, q, "7"), 2 - 20 / 512);
  });

  test("ties are dropped, winners are chosen, and a share `noise` of labels is flipped", () => {
    const rng = mulberry32(1);
    const pairs = Array.from({ length: 4000 }, (_, i) => ({ a: `a${i}`, b: `b${i}`, goldA: Math.floor(rng() * 3), goldB: Math.floor(rng() * 3) }));
    const ties = pairs.filter((p) => p.goldA === p.goldB).length;
    const clean = labelPairs(pairs, 0, 7);
    assert.equal(clean.length, pairs.length - ties);
    for (const l of clean) {
      const p = pairs[Number(l.chosen.slice(1))]!;
      assert.ok(l.chosen.startsWith("a") ? p.goldA > p.goldB : p.goldB > p.goldA, "the chosen reply has the higher gold score");
    }
    const noisy = labelPairs(pairs, 0.25, 7);
    const share = noisy.filter((l) => l.flipped).length / noisy.length;
    assert.ok(Math.abs(share - 0.25) < 0.03, `flipped share ${share}`);
    assert.deepEqual(labelPairs(pairs, 0.25, 7), noisy, "seeded: the same call gives the same labels");
    assert.throws(() => labelPairs(pairs, 0.6, 1), /noise must be in \[0, 0.5\]/);
  });
});

describe("the Bradley–Terry loss", () => {
  const rw = [0.3, -1.2, 2.5, 40, -40, 0];
  const rl = [0.1, 0.7, -0.5, -3, 3, 0];
  test("value −log σ(r_w − r_l), finite at large margins, and the hand gradient ∓σ(r_l − r_w)/P", async () => {
    const P = rw.length;
    const a = e64.parameter(rw, [P]);
    const b = e64.parameter(rl, [P]);
    const loss = e64.scope(() => {
      const l = bradleyTerryLoss(e64, a, b);
      e64.backward(l);
      return l;
    });
    const want = rw.reduce((s, w, i) => s - Math.log(sigma(w - rl[i]!)), 0) / P;
    assertClose([(await loss.data())[0]!], [want], { atol: 1e-12 }, "loss");
    assertClose(await a.grad!.data(), rw.map((w, i) => -sigma(rl[i]! - w) / P), { atol: 1e-15 }, "∂/∂r_w");
    assertClose(await b.grad!.data(), rw.map((w, i) => sigma(rl[i]! - w) / P), { atol: 1e-15 }, "∂/∂r_l");
    const big = e64.noGrad(() => negLogSigmoid(e64, e64.tensor([-800, 800], [2])));
    assertClose(await big.data(), [800, 0], { atol: 1e-12 }, "−log σ(z) without overflow");
    assert.equal(a.grad!.size, P);
  });

  test("its gradient matches central finite differences", async () => {
    const rng = mulberry32(3);
    const P = 7;
    const a = e64.parameter(normal(rng, P), [P]);
    const b = e64.parameter(normal(rng, P), [P]);
    e64.scope(() => e64.backward(bradleyTerryLoss(e64, a, b)));
    const value = async () => (await e64.scope(() => e64.noGrad(() => bradleyTerryLoss(e64, a, b))).data())[0]!;
    assertClose(await a.grad!.data(), await numericGradOf(e64, a, value, 1e-6), { atol: 1e-9, rtol: 1e-6 }, "∂/∂r_w");
    assertClose(await b.grad!.data(), await numericGradOf(e64, b, value, 1e-6), { atol: 1e-9, rtol: 1e-6 }, "∂/∂r_l");
  });
});

describe("the reward model", () => {
  test("a score does not depend on the padding its batch needed", async () => {
    const rm = new RewardModel(e64, TINY, 5);
    const seqs = [[1, ...encode("3+4=7")], [1, ...encode("12+30-4=38 and more")], [1, 9]];
    const scoreOf = async (batch: number[][], padWith: number) => {
      const p = packSequences(batch);
      const ids = Int32Array.from(p.ids, (v, i) => (i % p.T > p.lastIndex[Math.floor(i / p.T)]! ? padWith : v));
      const r = e64.scope(() => e64.noGrad(() => rm.score(e64.tensor(ids, [p.B, p.T], "i32"), p.lastIndex)));
      return Array.from(await r.data());
    };
    const alone = await Promise.all(seqs.map(async (s) => (await scoreOf([s], 0))[0]!));
    assertClose(await scoreOf(seqs, 0), alone, { atol: 1e-12 }, "batched with padding 0");
    assertClose(await scoreOf(seqs, 57), alone, { atol: 1e-12 }, "batched with other padding ids");
    assert.ok(Math.abs(alone[0]! - alone[1]!) > 1e-9, "different sequences score differently");
    rm.dispose();
  });

  test("the trunk's tensor names are the GPT's: an SFT checkpoint loads into it as it is", async () => {
    const gpt = new GPT(e64, TINY, 11);
    const rm = new RewardModel(e64, TINY, 12);
    loadModelTensors(rm.trunk, await modelTensors(gpt));
    const ids = e64.tensor([1, 5, 9, 13], [1, 4], "i32");
    const [h1, h2] = e64.noGrad(() => [gpt.hidden(ids), rm.trunk.hidden(ids)]);
    assertClose(await h2!.data(), await h1!.data(), { atol: 0 }, "same hidden states");
    const names = rm.parameters().map((p) => p.name);
    assert.deepEqual(names.slice(0, -2), gpt.parameters().map((p) => p.name));
    assert.deepEqual(names.slice(-2), ["score_head.weight", "score_head.bias"]);
    gpt.dispose();
    rm.dispose();
  });
});

describe("DPO", () => {
  test("equals its closed form on hand-made log-probabilities", async () => {
    const beta = 0.1;
    const pw = [-5.2, -10.1, -3.3];
    const pl = [-6.0, -9.0, -3.3];
    const rw = [-5.5, -9.5, -4.0];
    const rl = [-5.5, -9.5, -2.0];
    const t = (x: number[]) => e64.tensor(x, [x.length]);
    const out = e64.noGrad(() => dpoLoss(e64, { policyChosen: t(pw), policyRejected: t(pl), refChosen: t(rw), refRejected: t(rl) }, beta));
    const want = pw.reduce((s, _, i) => s - Math.log(sigma(beta * (pw[i]! - rw[i]!) - beta * (pl[i]! - rl[i]!))), 0) / pw.length;
    assertClose([(await out.loss.data())[0]!], [want], { atol: 1e-14 }, "L_DPO");
    assertClose(await out.chosenReward.data(), pw.map((p, i) => beta * (p - rw[i]!)), { atol: 1e-15 }, "implicit reward of y_w");
    assert.throws(() => dpoLoss(e64, { policyChosen: t(pw), policyRejected: t(pl), refChosen: t(rw), refRejected: t(rl) }, 0), /beta must be/);
  });

  test("policy = reference on a tied pair: loss log 2 and no gradient; an untied pair moves the policy", async () => {
    const policy = new GPT(e64, TINY, 21);
    const reference = new GPT(e64, TINY, 99);
    loadModelTensors(reference, await modelTensors(policy));
    const prompt = [1, ...encode("User: 3+4. Assistant: ")];
    const gradsFor = async (chosen: number[], rejected: number[]) => {
      for (const p of policy.parameters()) { p.tensor.grad?.dispose(); p.tensor.grad = null; }
      const loss = e64.scope(() => {
        const ref = e64.noGrad(() => sequenceLogProbs(e64, reference, [prompt, prompt], [chosen, rejected]));
        const pol = sequenceLogProbs(e64, policy, [prompt, prompt], [chosen, rejected]);
        const s = (x: typeof pol, i: number) => e64.slice(x, 0, i, i + 1);
        const l = dpoLoss(e64, { policyChosen: s(pol, 0), policyRejected: s(pol, 1), refChosen: s(ref, 0), refRejected: s(ref, 1) }, 0.1).loss;
        e64.backward(l);
        return l;
      });
      const value = (await loss.data())[0]!;
      loss.dispose();
      const grads = await Promise.all(policy.parameters().map(async (p) => Array.from(await p.tensor.grad!.data())));
      return { value, maxGrad: Math.max(...grads.flat().map(Math.abs)) };
    };
    const reply = encode("<think>3+4=7</think>");
    const tied = await gradsFor(reply, reply);
    assertClose([tied.value], [Math.log(2)], { atol: 1e-14 }, "loss at the start");
    assert.ok(tied.maxGrad < 1e-14, `tied pair: largest gradient ${tied.maxGrad}`);
    const untied = await gradsFor(reply, encode("<think>3+4=8</think>"));
    assertClose([untied.value], [Math.log(2)], { atol: 1e-14 }, "policy = reference: margin 0 on any pair");
    assert.ok(untied.maxGrad > 1e-6, `untied pair: largest gradient ${untied.maxGrad}`);
    policy.dispose();
    reference.dispose();
  });
});

test("calibration bins: every pair lands in the bin of its prediction, orders seeded", () => {
  const margins = normal(mulberry32(4), 500).map((m) => 2 * m);
  const bins = calibrationBins(margins, 10, 1);
  assert.equal(bins.reduce((n, b) => n + b.count, 0), 500);
  bins.forEach((b, i) => {
    if (b.count > 0) assert.ok(b.predicted >= i / 10 && b.predicted <= (i + 1) / 10, `bin ${i}: mean prediction ${b.predicted}`);
  });
  // a model whose margins are all large and right is confident: its pairs sit in the end bins, observed 0 or 1
  const sure = calibrationBins(new Array(100).fill(20), 10, 2);
  assert.equal(sure[0]!.count + sure[9]!.count, 100);
  assert.equal(sure[9]!.observed, 1);
  assert.equal(sure[0]!.observed, 0);
  assert.deepEqual(calibrationBins(margins, 10, 1), bins);
});

test("GRPO groups take a learned reward in place of the rules, and keep the gold and rule scores", async () => {
  const e = new Engine(new CpuBackend());
  const model = new GPT(e, { ...TINY, maxSeqLen: 64 }, 3);
  const problems = generateProblems({ split: "train", level: 1, count: 2, seed: 1 });
  const lengthReward = async (prompts: readonly number[][], replies: readonly number[][]) => replies.map((r, i) => r.length + prompts[i]!.length / 1000);
  const o = { groupSize: 3, temperature: 1, topP: 1, maxNewTokens: 12, seed: 1, weights: { accuracy: 1, format: 0.1 }, scaleByStd: true };
  const groups = await sampleGroups(model, problems, CHAT, { ...o, reward: lengthReward });
  const rules = await sampleGroups(model, problems, CHAT, o);
  groups.forEach((g, i) => {
    assert.deepEqual(g.rewards, g.completions.map((c) => c.length + g.promptIds.length / 1000), "the learned reward's scores");
    assert.deepEqual(g.scores, rules[i]!.scores, "the rule scores are still recorded (same samples, same seed)");
    assert.deepEqual(g.gold, g.replies.map((r, k) => goldScore(r, g.completions[k]!.length, g.problem.question, g.problem.answer)));
    assert.deepEqual(rules[i]!.rewards, rules[i]!.scores.map((s) => s.reward), "without one, the rules");
  });
  model.dispose();
});

test("goldAtKl reads a run's gold reward where its KL first reached a value, by linear interpolation", async () => {
  const { goldAtKl } = await import("../../src/eval/preference.js");
  const curve: [number, number][] = [[0, 1], [0.5, 1.2], [1.5, 0.4], [1.0, 0.2]];
  assert.equal(goldAtKl(curve, 0), 1);
  assert.ok(Math.abs(goldAtKl(curve, 0.25)! - 1.1) < 1e-12);
  assert.ok(Math.abs(goldAtKl(curve, 1.0)! - 0.8) < 1e-12, "the first crossing, not the later point at KL 1.0");
  assert.equal(goldAtKl(curve, 2), null, "never got that far");
});

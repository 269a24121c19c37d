// The GRPO loop (src/train/grpo.ts) and its parts: the sampler's log-probabilities,
// dynamic sampling, the curriculum, and a short run that must raise the reward.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { readConfig, readModel } from "../../src/io/run-record-node.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { drawLevels, levelWeight, updateLevelAccuracy } from "../../src/rl/curriculum.js";
import { sampleGroups } from "../../src/rl/groups.js";
import { tokenLogProbs } from "../../src/rl/grpo.js";
import { packRollouts } from "../../src/rl/rollout.js";
import { generate } from "../../src/sample/generate.js";
import { CHAT, generateProblems, vocabSize, type Problem } from "../../src/tasks/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { GRPO_PRESETS } from "../../src/train/presets.js";
import { GrpoRun, type GrpoConfig } from "../../src/train/grpo.js";
import { createWasmEngineSync } from "../../src/cpu/index.js";

const engine = () => new Engine(new CpuBackend({ wasm: createWasmEngineSync() }));
const SFT = "data/checkpoints/sft-default";
const sft = async () => ({ config: ((await readConfig(SFT)) as { model: GPTConfig }).model, tensors: (await readModel(SFT)).tensors });

const TINY: GPTConfig = { vocabSize, dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, dFF: 32, maxSeqLen: 48, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 };

test("the sampler's log-probabilities and entropies equal a fresh forward pass's at the sampling temperature (left padding included)", async () => {
  const e = new Engine(new CpuBackend({ precision: "f64" }));
  const model = new GPT(e, TINY, 4);
  const prompts = [[1, 9, 10, 11, 12, 13], [1, 14, 15], [1, 16, 17, 18, 19]]; // three lengths: two rows are left-padded
  for (const temperature of [1, 0.7, 1.6]) {
    const gen = await generate(model, prompts, { temperature, topK: 0, topP: 0.9, maxNewTokens: 10, stopTokens: [], seed: 2, logprobs: true });
    for (let b = 0; b < prompts.length; b++) {
      const ids = [...prompts[b]!, ...gen.tokens[b]!];
      const T = ids.length - 1;
      const logits = e.noGrad(() => model.forward(e.tensor(ids.slice(0, T), [1, T], "i32")));
      const rows = await logits.data();
      const V = TINY.vocabSize;
      const want = await e.noGrad(() => tokenLogProbs(e, e.scale(logits, 1 / temperature), e.tensor(ids.slice(1), [T], "i32"))).data();
      gen.tokens[b]!.forEach((_, j) => {
        const t = prompts[b]!.length - 1 + j;
        assert.ok(Math.abs(gen.logprobs![b]![j]! - want[t]!) < 1e-9, `row ${b} token ${j} at T = ${temperature}: ${gen.logprobs![b]![j]} vs ${want[t]}`);
        // entropy of softmax(z/T) at that position, from the forward pass's logits
        const z = Array.from(rows.slice(t * V, (t + 1) * V), (x) => x / temperature);
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
        const entropy = -z.reduce((s, x) => s + Math.exp(x - lse) * (x - lse), 0);
        assert.ok(Math.abs(gen.entropies![b]![j]! - entropy) < 1e-9, `entropy row ${b} token ${j}`);
      });
      logits.dispose();
    }
  }
});

describe("curriculum", () => {
  test("uniform: every level equally often over a step, in rotating order", () => {
    const levels = [1, 2, 3, 4, 5];
    const a = drawLevels("uniform", levels, 15, {}, 0);
    for (const l of levels) assert.equal(a.filter((x) => x === l).length, 3);
    assert.notDeepEqual(drawLevels("uniform", levels, 16, {}, 1).slice(0, 5), drawLevels("uniform", levels, 16, {}, 0).slice(0, 5));
  });
  test("adaptive: levels near 50% accuracy get most prompts; solved and hopeless ones keep a floor", () => {
    const acc = { 1: 0.98, 2: 0.5, 3: 0.02 };
    const draws = drawLevels("adaptive", [1, 2, 3], 3000, acc, 0, 7);
    const share = (l: number) => draws.filter((x) => x === l).length / draws.length;
    assert.ok(share(2) > 0.6, `level 2 share ${share(2)}`);
    assert.ok(share(1) > 0.05 && share(3) > 0.05, "the floor keeps every level in play");
    assert.equal(levelWeight(0.5), 0.25);
    assert.equal(levelWeight(1), 0.05);
    assert.deepEqual(drawLevels("adaptive", [1, 2, 3], 20, acc, 4, 7), drawLevels("adaptive", [1, 2, 3], 20, acc, 4, 7), "seeded");
  });
  test("the running accuracy moves a fifth of the way to each step's rate", () => {
    const next = updateLevelAccuracy({ 2: 0.5 }, [{ level: 2, correct: true }, { level: 2, correct: true }, { level: 3, correct: false }]);
    assert.ok(Math.abs(next[2]! - 0.6) < 1e-12);
    assert.ok(Math.abs(next[3]! - 0.4) < 1e-12, "an unseen level starts at 0.5");
  });
});

const config = (over: Partial<GrpoConfig>): GrpoConfig => ({ ...GRPO_PRESETS.ci.grpo, style: "chat", ...over });

test("dynamic sampling: kept groups always have a reward spread; a batch with none trains nothing", async () => {
  const e = engine();
  const { config: model, tensors } = await sft();
  const run = new GrpoRun(e, config({ batchSize: 8, groupSize: 4, levels: [2, 3], maxSamplingRounds: 3 }), 5, model, { model: tensors, step: 0 });
  for (let step = 0; step < 3; step++) {
    const { kept, sampled } = await run.collect(step);
    assert.ok(kept.length <= 8);
    assert.ok(kept.every((g) => !g.stats.zeroSpread && new Set(g.rewards).size > 1), "no zero-spread group is kept");
    assert.ok(sampled.length >= kept.length);
    for (const g of kept) assert.ok(g.advantages.some((a) => a !== 0));
  }
  run.dispose();

  // a random model never writes an answer: every reward is 0, every group is dropped
  const random = new GPT(e, model, 9);
  const { modelTensors } = await import("../../src/train/checkpoint.js");
  const weights = await modelTensors(random);
  random.dispose();
  const blank = new GrpoRun(e, config({ batchSize: 4, groupSize: 4, levels: [1], maxSamplingRounds: 2, maxNewTokens: 8, evalEvery: 100 }), 5, model, { model: weights, step: 0 });
  const before = await modelTensors(blank.policy);
  const r = await blank.next();
  assert.equal(r.groups_kept, 0);
  assert.equal(r.groups_sampled, 4 + 4, "two rounds of four prompts: the first, and one refill");
  assert.equal(r.frac_reward_zero_std, 1);
  assert.equal(blank.updates, 0, "no update without a group to learn from");
  const after = await modelTensors(blank.policy);
  for (const [name, t] of Object.entries(before)) assert.deepEqual(after[name]!.data, t.data, `${name} unchanged`);
  blank.dispose();
});

test("groups: advantages are group-relative, log-probabilities line up with the packed completion tokens", async () => {
  const e = engine();
  const { config: model, tensors } = await sft();
  const policy = new GPT(e, model, 1);
  const { loadModelTensors } = await import("../../src/train/checkpoint.js");
  loadModelTensors(policy, tensors);
  const problems = generateProblems({ split: "train", level: 2, count: 3, seed: 2 });
  const groups = await sampleGroups(policy, problems, CHAT, {
    groupSize: 6, temperature: 1, topP: 1, maxNewTokens: 60, seed: 3, weights: { accuracy: 1, format: 0.1 }, scaleByStd: false,
  });
  for (const g of groups) {
    const mean = g.rewards.reduce((a, b) => a + b, 0) / g.rewards.length;
    g.advantages.forEach((a, i) => assert.ok(Math.abs(a - (g.stats.zeroSpread ? 0 : g.rewards[i]! - mean)) < 1e-12));
    g.completions.forEach((c, i) => assert.equal(g.logprobs[i]!.length, c.length));
  }
  const packed = packRollouts(groups.flatMap((g) => g.completions.map(() => g.promptIds)), groups.flatMap((g) => g.completions), groups.flatMap((g) => g.advantages));
  assert.equal(packed.B, 18);
  assert.equal(packed.mask.reduce((a, b) => a + b, 0), groups.flatMap((g) => g.completions).reduce((s, c) => s + c.length, 0));
  policy.dispose();
});

/** A run that sees the same eight prompts every step: its reward on them must rise. */
class FixedPrompts extends GrpoRun {
  fixed: Problem[] = [];
  override problemsAt(_step: number, _round: number, count: number): Problem[] {
    return this.fixed.slice(0, count);
  }
}

test("a short GRPO run raises the reward on the prompts it trains on", async () => {
  const e = engine();
  const { config: model, tensors } = await sft();
  const c = config({ batchSize: 8, groupSize: 8, steps: 8, lr: 1e-4, warmupSteps: 0, minLrRatio: 1, levels: [3], maxNewTokens: 60, evalEvery: 100, dynamicSampling: false, maxSamplingRounds: 1 });
  const run = new FixedPrompts(e, c, 2, model, { model: tensors, step: 0 });
  run.fixed = generateProblems({ split: "train", level: 3, count: 8, seed: 11 });
  // expected reward on the fixed prompts: 32 samples each, the same seed before and after
  const expected = async (g: GPT) => {
    const groups = await sampleGroups(g, run.fixed, CHAT, { groupSize: 32, temperature: 1, topP: 1, maxNewTokens: 60, seed: 99, weights: c.rewards, scaleByStd: true });
    return groups.flatMap((x) => x.rewards).reduce((a, b) => a + b, 0) / (8 * 32);
  };
  const before = await expected(run.policy);
  const log: string[] = [];
  while (!run.done) {
    const r = await run.next();
    log.push(`step ${r.step}: reward ${r.reward.toFixed(3)} kl ${r.kl.toFixed(4)}`);
  }
  const after = await expected(run.policy);
  assert.ok(after > before + 0.1, `expected reward ${before.toFixed(3)} → ${after.toFixed(3)}\n${log.join("\n")}`);
  run.dispose();
});

// The evaluation harness on a real (tiny, untrained) model: seeded, forced
// no-think prefix, numbers consistent with the completions they come from.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend } from "../../src/cpu/index.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { Engine } from "../../src/tensor/engine.js";
import { DEFAULT_EVAL_CONFIG, NO_THINK_PREFIX, evaluate, evalProblems, flatMetrics, gradeGreedy, promptIds, type EvalConfig } from "../../src/eval/evaluate.js";
import { decode, formatPrompt, vocabSize } from "../../src/tasks/index.js";
import { parseLevels } from "../../src/cli/eval.js";

const tiny: GPTConfig = { vocabSize, dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, dFF: 32, maxSeqLen: 64, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 };
const config: EvalConfig = { ...DEFAULT_EVAL_CONFIG, levels: [1, 2], problemsPerLevel: 3, ks: [1, 2], batchSize: 5, maxNewTokens: 12 };

test("the no-think prompt ends in a forced empty think block and an open answer tag", () => {
  const ids = promptIds("12+34", "no_think");
  assert.equal(decode(ids), `<bos>${formatPrompt("12+34")}<think></think>\n<answer>`);
  assert.deepEqual(ids.slice(-NO_THINK_PREFIX.length), NO_THINK_PREFIX);
  assert.equal(decode(promptIds("12+34", "think")), `<bos>${formatPrompt("12+34")}`);
});

test("evaluate: seeded, the same problems and numbers twice; no-think completions start with the forced prefix", async () => {
  const backend = new CpuBackend();
  const model = new GPT(new Engine(backend), tiny, 4);
  const a = await evaluate(model, config);
  const b = await evaluate(model, config);
  assert.deepEqual(a, b);
  assert.equal(a.levels.length, 2);
  for (const l of a.levels) {
    assert.equal(l.think.greedy.length, 3);
    assert.deepEqual(l.think.greedy.map((g) => g.question), evalProblems(config, l.level).map((p) => p.question));
    for (const g of l.no_think.greedy) assert.ok(g.completion.startsWith("<think></think>\n<answer>"), g.completion);
    for (const g of l.think.greedy) assert.ok(g.tokens >= 1 && g.tokens <= config.maxNewTokens);
    for (const g of l.no_think.greedy) assert.ok(g.tokens > NO_THINK_PREFIX.length);
    assert.equal(l.think.accuracy, l.think.greedy.filter((g) => g.correct).length / 3);
    // an untrained model writes no answer block, so nothing is right and nothing votes
    assert.equal(l.think.pass_at_k[2], 0);
    assert.equal(l.think.maj_at_k[2], 0);
  }
  // the greedy completions do not depend on how they are batched (left padding is exact)
  const one = await gradeGreedy(model, evalProblems(config, 2), "think", 1, 12);
  assert.deepEqual(one.map((g) => g.completion), a.levels[1]!.think.greedy.map((g) => g.completion));
  // and another seed draws other samples
  const c = await evaluate(model, { ...config, seed: 2 });
  assert.notDeepEqual(c.levels[0]!.think.greedy.map((g) => g.question), a.levels[0]!.think.greedy.map((g) => g.question));
  model.dispose();
  backend.destroy();
});

test("flatMetrics: averages over levels, with per-level keys", () => {
  const mode = (acc: number) => ({ accuracy: acc, format_rate: 1, format_rate_sampled: 0.5, mean_completion_tokens: 10, mean_sampled_tokens: 12, pass_at_k: { 1: acc, 4: 1 }, maj_at_k: { 1: acc, 4: acc }, greedy: [] });
  const flat = flatMetrics([
    { level: 1, problems: 2, think: mode(1), no_think: mode(0.5) },
    { level: 3, problems: 2, think: mode(0.5), no_think: mode(0) },
  ], [1, 4]);
  assert.equal(flat.heldout_accuracy, 0.75);
  assert.equal(flat.heldout_accuracy_no_think, 0.25);
  assert.equal(flat.pass_at_4, 1);
  assert.equal(flat.maj_at_4, 0.75);
  assert.equal(flat.heldout_accuracy_L3, 0.5);
  assert.equal(flat.heldout_accuracy_no_think_L1, 0.5);
});

test("--levels accepts a range or a list of real levels", () => {
  assert.deepEqual(parseLevels("1-5"), [1, 2, 3, 4, 5]);
  assert.deepEqual(parseLevels("2,4"), [2, 4]);
  for (const bad of ["0-2", "1-9", "x", "3-1", ""]) assert.throws(() => parseLevels(bad), /--levels/);
});

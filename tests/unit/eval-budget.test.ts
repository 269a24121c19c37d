// Budget forcing (src/eval/budget.ts): the think block is closed at exactly B tokens,
// the answer that follows is graded like any other reply, a generous budget changes
// nothing, and B = 0 is answering at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend, createWasmEngineSync } from "../../src/cpu/index.js";
import { readConfig, readModel } from "../../src/io/run-record-node.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { FORCED_CLOSE, budgetForced, budgetSweep, thinkingLength } from "../../src/eval/budget.js";
import { evalProblems, gradeGreedy } from "../../src/eval/evaluate.js";
import { THINK_CLOSE_ID, THINK_OPEN_ID, verify } from "../../src/tasks/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { loadModelTensors } from "../../src/train/checkpoint.js";

const SFT = "data/checkpoints/sft-default";
async function sftModel(): Promise<GPT> {
  const e = new Engine(new CpuBackend({ wasm: createWasmEngineSync() }));
  const m = new GPT(e, ((await readConfig(SFT)) as { model: GPTConfig }).model, 1);
  loadModelTensors(m, (await readModel(SFT)).tensors);
  return m;
}
const problems = [3, 4, 5].flatMap((level) => evalProblems({ split: "heldout", problemsPerLevel: 6, seed: 1 }, level));

test("thinkingLength counts the tokens between the tags", () => {
  assert.equal(thinkingLength([THINK_OPEN_ID, 10, 11, 12, THINK_CLOSE_ID, 20]), 3);
  assert.equal(thinkingLength([THINK_OPEN_ID, 10, 11]), 2, "still open: to the end");
  assert.equal(thinkingLength([10, 11]), 0);
});

test("the think block is closed at exactly B tokens, and the forced answer is graded like any reply", { timeout: 120_000 }, async () => {
  const model = await sftModel();
  for (const budget of [0, 5, 12]) {
    const replies = await budgetForced(model, problems, budget, 64);
    assert.ok(replies.some((r) => r.forced), `some thought is longer than ${budget} tokens`);
    replies.forEach((r, i) => {
      assert.ok(r.thinkTokens <= budget, `reply ${i}: ${r.thinkTokens} tokens of thought > ${budget}`);
      if (r.forced) {
        assert.equal(r.thinkTokens, budget, `a forced reply thinks exactly ${budget} tokens`);
        const at = r.ids.indexOf(THINK_CLOSE_ID);
        assert.deepEqual(r.ids.slice(at, at + FORCED_CLOSE.length), FORCED_CLOSE, "closed by the forced tokens");
      }
      assert.deepEqual({ correct: r.correct, formatOk: r.formatOk }, verify(r.reply, problems[i]!.answer), "graded by the verifier");
    });
  }
  model.dispose();
});

test("a budget longer than any thought changes nothing; B = 0 answers at once", { timeout: 120_000 }, async () => {
  const model = await sftModel();
  const free = await gradeGreedy(model, problems, "think", 64);
  const generous = await budgetForced(model, problems, 200, 64);
  assert.ok(generous.every((r) => !r.forced));
  assert.deepEqual(generous.map((r) => r.reply), free.map((g) => g.completion), "the same replies as unbudgeted greedy decoding");
  const none = await budgetForced(model, problems, 0, 64);
  const direct = await gradeGreedy(model, problems, "no_think", 64);
  assert.deepEqual(none.map((r) => r.correct), direct.map((g) => g.correct), "B = 0 is the no-thinking mode");
  const sweep = await budgetSweep(model, { levels: [3], problemsPerLevel: 6, seed: 1, budgets: [0, 200], batchSize: 64, maxNewTokens: 256 });
  assert.deepEqual(sweep.map((p) => p.budget), [0, 200]);
  assert.equal(sweep[1]!.forced_rate, 0);
  assert.equal(sweep[0]!.mean_think_tokens, 0);
  model.dispose();
});

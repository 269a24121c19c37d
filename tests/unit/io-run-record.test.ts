import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type RunSummary,
  RUN_FILES,
  formatMetricsLine,
  parseMetricsJsonl,
  validateSummary,
} from "../../src/io/run-record.js";
import {
  appendMetrics,
  readConfig,
  readMetrics,
  readModel,
  readSummary,
  writeConfig,
  writeModel,
  writeSummary,
} from "../../src/io/run-record-node.js";

const SUMMARY: RunSummary = {
  command: "r1-lab train sft --preset ci --seed 1 --out runs/sft",
  stage: "sft",
  preset: "ci",
  seed: 1,
  backend: "cpu",
  adapter: "none",
  wall_s: 12.5,
  params: 108_000,
  metrics: { val_loss: 1.25, heldout_accuracy: 0.5, format_rate: 1 },
  config: { d_model: 64 },
};

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "r1-lab-run-"));
  try {
    await fn(join(dir, "nested", "out"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("metrics.jsonl: one object per line, appended, non-finite numbers become null", async () => {
  await withTempDir(async (dir) => {
    await appendMetrics(dir, { step: 0, loss: 4.5, lr: 0.001 });
    await appendMetrics(dir, { step: 10, loss: NaN, reward: 0.25, stage: "grpo", clipped: false });
    const text = await readFile(join(dir, RUN_FILES.metrics), "utf8");
    assert.equal(text, '{"step":0,"loss":4.5,"lr":0.001}\n{"step":10,"loss":null,"reward":0.25,"stage":"grpo","clipped":false}\n');
    assert.deepEqual(await readMetrics(dir), [
      { step: 0, loss: 4.5, lr: 0.001 },
      { step: 10, loss: null, reward: 0.25, stage: "grpo", clipped: false },
    ]);
  });
  assert.throws(() => formatMetricsLine({ step: -1, loss: 1 }), /"step" must be a whole number/);
  assert.throws(() => formatMetricsLine({ step: 1 } as unknown as { step: number; loss: number }), /has no "loss"/);
  assert.throws(
    () => formatMetricsLine({ step: 1, loss: 1, bad: { a: 1 } } as unknown as { step: number; loss: number }),
    /field "bad" at step 1/,
  );
  // arrays of finite numbers, or of such arrays (an MoE model's tokens per expert per layer), are fine; others are not
  assert.equal(formatMetricsLine({ step: 2, loss: 1, expert_load: [[3, 0, 5], [4, 4, 0]], shares: [0.5, 0.5] }),
    '{"step":2,"loss":1,"expert_load":[[3,0,5],[4,4,0]],"shares":[0.5,0.5]}\n');
  for (const bad of [[NaN], [[1, Infinity]], [[[1]]], ["a"]]) {
    assert.throws(() => formatMetricsLine({ step: 1, loss: 1, bad } as unknown as { step: number; loss: number }), /field "bad" at step 1 .* got another array/);
  }
});

test("parseMetricsJsonl drops a cut-off last line but refuses a bad line in the middle", () => {
  assert.deepEqual(parseMetricsJsonl('{"step":1,"loss":2}\n{"step":2,"lo'), [{ step: 1, loss: 2 }]);
  assert.throws(() => parseMetricsJsonl('{"step":1,"loss":2}\n{oops\n{"step":3,"loss":1}\n'), /line 2 is not valid JSON/);
  assert.throws(() => parseMetricsJsonl('{"loss":2}\n'), /line 1 is not an object with a numeric "step"/);
  assert.deepEqual(parseMetricsJsonl(""), []);
});

test("summary.json and config.json round-trip; summaries are validated", async () => {
  await withTempDir(async (dir) => {
    await writeSummary(dir, { ...SUMMARY, metrics: { ...SUMMARY.metrics, kl: Infinity } });
    await writeConfig(dir, { vocab_size: 101, layers: 2 });
    assert.deepEqual(await readSummary(dir), { ...SUMMARY, metrics: { ...SUMMARY.metrics, kl: null } });
    assert.deepEqual(await readConfig(dir), { vocab_size: 101, layers: 2 });
    await writeFile(join(dir, RUN_FILES.summary), '{"stage": "sft"');
    await assert.rejects(readSummary(dir), /summary.json is not valid JSON/);
  });
  const { seed: _seed, ...noSeed } = SUMMARY;
  assert.throws(() => validateSummary(noSeed), /summary.json is invalid: missing "seed"/);
  assert.throws(() => validateSummary({ ...SUMMARY, wall_s: "12" }), /"wall_s" must be a number/);
  assert.throws(() => validateSummary({ ...SUMMARY, metrics: { acc: "high" } }), /metrics.acc must be a number or null/);
  assert.throws(() => validateSummary([]), /summary must be a JSON object/);
});

test("model.safetensors: write, read, check against the model, and no temp files left", async () => {
  await withTempDir(async (dir) => {
    const tensors = {
      "wte.weight": { dtype: "F32" as const, shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    };
    await writeModel(dir, tensors, { stage: "pretrain" });
    const { tensors: back, metadata } = await readModel(dir, { "wte.weight": { dtype: "F32", shape: [2, 2] } });
    assert.deepEqual(Array.from(back["wte.weight"]!.data), [1, 2, 3, 4]);
    assert.deepEqual(metadata, { stage: "pretrain" });
    await assert.rejects(
      readModel(dir, { "wte.weight": { dtype: "F32", shape: [2, 3] } }),
      /tensor "wte.weight" is F32 \[2, 2\] but expected F32 \[2, 3\]/,
    );
    assert.deepEqual((await readdir(dir)).sort(), [RUN_FILES.model]);

    const bytes = await readFile(join(dir, RUN_FILES.model));
    await writeFile(join(dir, RUN_FILES.model), bytes.subarray(0, bytes.length - 1));
    await assert.rejects(readModel(dir), /model\.safetensors: safetensors: .*truncated/);
  });
});

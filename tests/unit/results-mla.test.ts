// data/results/mla.json is what the MLA lesson quotes: ci runs of MHA, GQA, MQA and MLA
// (several seeds) made by `r1-lab train pretrain --attention`. Every run has the
// metrics the page needs; the file's claims are exactly what mla-claims.ts computes
// from its runs (so the ratio quoted is the one measured); MLA's cache is under half
// of MHA's; and re-running a recorded command reproduces its metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { mlaClaims, mlaFacts, type RecordedRun } from "../../src/harness/jobs/mla-claims.js";
import { ATTENTION_KINDS, pretrainPreset, withAttention } from "../../src/train/presets.js";
import { GPT } from "../../src/nn/gpt.js";
import { CpuBackend } from "../../src/cpu/index.js";
import { Engine } from "../../src/tensor/engine.js";

const root = join(import.meta.dirname, "../..");
const results = JSON.parse(readFileSync(join(root, "data/results/mla.json"), "utf8")) as { runs: RecordedRun[]; claims: string[] };
const METRICS = ["val_loss", "params", "kv_cache_elements_per_token", "kv_cache_bytes_per_token", "decode_tokens_per_s"];

test("every recorded run is a CLI pretrain run with --attention, on the CPU engine, with the lesson's metrics", () => {
  const ci = results.runs.filter((r) => r.command.includes("--preset ci "));
  assert.ok(ci.length >= 4);
  for (const r of results.runs) {
    assert.match(r.command, /^r1-lab train pretrain --preset (ci|default) --seed \d+ --backend cpu --out \S+ --attention (mha|gqa|mqa|mla) --measure-decode$/, r.name);
    for (const k of METRICS) assert.equal(typeof r.metrics[k], "number", `${r.name}: metrics.${k}`);
    assert.equal(r.metrics.kv_cache_bytes_per_token, 4 * r.metrics.kv_cache_elements_per_token!, `${r.name}: float32 cache`);
  }
  for (const kind of ATTENTION_KINDS) assert.ok(ci.some((r) => r.command.includes(`--attention ${kind} `)), `a ci ${kind} run`);
});

test("the recorded caches and parameter counts are the models' (counted here from the cache tensors)", () => {
  const e = new Engine(new CpuBackend());
  for (const r of results.runs) {
    const preset = /--preset (\w+)/.exec(r.command)![1]!;
    const kind = /--attention (\w+)/.exec(r.command)![1] as (typeof ATTENTION_KINDS)[number];
    const model = new GPT(e, withAttention(pretrainPreset(preset).model, kind), 1);
    assert.equal(r.params, model.parameterCount(), r.name);
    assert.equal(r.metrics.kv_cache_elements_per_token, model.kvCacheFloatsPerToken(), r.name);
    model.dispose();
  }
});

test("the claims are what the runs give: MLA's cache under half of MHA's, the loss ratio as measured", () => {
  const presets = ["ci", "default"].filter((p) => results.runs.some((r) => r.command.includes(`--preset ${p} `)));
  assert.deepEqual(results.claims, presets.flatMap((p) => mlaClaims(mlaFacts(results.runs, p))), "node --import tsx scripts/mla-claims.ts writes them");
  const ci = mlaFacts(results.runs, "ci");
  assert.ok(ci.cacheTargetMet && ci.cacheRatio < 0.5, `cache ratio ${ci.cacheRatio}`);
  assert.ok(ci.kinds.mla.seeds >= 3, "several seeds, so the spread is shown");
  // the ratio sentence says "within" exactly when the mean ratio is ≤ 1.1
  const sentence = results.claims.find((c) => c.startsWith("ci: MLA's validation loss is"))!;
  assert.equal(sentence.includes("within the 1.1× target"), ci.valRatio <= 1.1, sentence);
  assert.ok(sentence.includes(`${ci.valRatio.toFixed(2)}× MHA's`), sentence);
  // similar parameter counts: within 15% of MHA's
  for (const k of ATTENTION_KINDS) assert.ok(Math.abs(ci.kinds[k].params / ci.kinds.mha.params - 1) < 0.15, `${k} params`);
  // the default runs, where recorded: the same checks
  if (presets.includes("default")) {
    const d = mlaFacts(results.runs, "default");
    assert.ok(d.cacheRatio < 0.5, `default cache ratio ${d.cacheRatio}`);
    const line = results.claims.find((c) => c.startsWith("default: MLA's validation loss is"))!;
    assert.equal(line.includes("within the 1.1× target"), d.valRatio <= 1.1, line);
    assert.ok(line.includes(`${d.valRatio.toFixed(2)}× MHA's`), line);
  }
});

test("mlaClaims is a real check: a cache over half of MHA's, or a loss within 1.1×, changes the words", () => {
  const ci = mlaFacts(results.runs, "ci");
  const worse = mlaClaims({ ...ci, cacheRatio: 0.6, cacheTargetMet: false });
  assert.match(worse[0]!, /60% of MHA's, not under half/);
  const better = mlaClaims({ ...ci, valRatio: 1.05, lossTargetMet: true });
  assert.match(better[2]!, /1\.05× MHA's .*within the 1\.1× target/);
});

test("re-running the recorded ci MLA command (seed 1) reproduces its metrics (decode speed aside: wall-clock)", { timeout: 300_000 }, async () => {
  const r = results.runs.find((x) => x.command.includes("--preset ci --seed 1 ") && x.command.includes("--attention mla"))!;
  const out = join(mkdtempSync(join(tmpdir(), "r1lab-mla-rerun-")), "run");
  const args = r.command.replace(/^r1-lab /, "").split(" ");
  args[args.indexOf("--out") + 1] = out;
  await promisify(execFile)("node", [join(root, "bin/r1-lab.js"), ...args], { maxBuffer: 1 << 24 });
  const got = (JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { metrics: Record<string, number> }).metrics;
  for (const [k, v] of Object.entries(r.metrics)) {
    if (k === "decode_tokens_per_s" || v === null) continue;
    assert.ok(Math.abs(got[k]! - v) <= 1e-3 * Math.max(1, Math.abs(v)), `${k}: recorded ${v}, re-run ${got[k]}`);
  }
});

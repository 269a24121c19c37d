// `r1-lab train pretrain --attention mha|gqa|mqa|mla`: the model gets that attention, and
// summary.json carries the cache per token measured from the cache tensors, the
// parameter count, and (with --measure-decode) decode tokens/s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./helpers/cli.js";
import { CpuBackend } from "../../src/cpu/index.js";
import { Engine } from "../../src/tensor/engine.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { pretrainPreset, withAttention, type AttentionKind } from "../../src/train/presets.js";

interface Summary {
  command: string;
  params: number;
  attention: string;
  metrics: Record<string, number | null>;
}

/** the ci model: 2 layers, 4 heads of d_h = 8; MLA with dC = 16, dR = 4 */
const EXPECTED_ELEMENTS: Record<AttentionKind, number> = {
  mha: 2 * (2 * 4 * 8),
  gqa: 2 * (2 * 2 * 8),
  mqa: 2 * (2 * 1 * 8),
  mla: 2 * (16 + 4),
};

test("train pretrain --attention: each kind's summary has its cache per token (elements and bytes), params and the command", async () => {
  const dir = mkdtempSync(join(tmpdir(), "r1lab-cli-mla-"));
  const e = new Engine(new CpuBackend());
  for (const kind of ["mha", "mla"] as const) {
    const out = join(dir, kind);
    const r = await cli(["train", "pretrain", "--preset", "ci", "--backend", "cpu", "--steps", "3", "--attention", kind, "--out", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
    assert.match(s.command, new RegExp(`--attention ${kind}\\b`));
    assert.equal(s.attention, kind);
    assert.equal(s.metrics.kv_cache_elements_per_token, EXPECTED_ELEMENTS[kind], `${kind}: elements per token`);
    assert.equal(s.metrics.kv_cache_bytes_per_token, 4 * EXPECTED_ELEMENTS[kind], `${kind}: float32 bytes per token`);
    assert.equal(s.metrics.decode_tokens_per_s, undefined, "decode is timed only when asked");
    const config: GPTConfig = withAttention(pretrainPreset("ci").model, kind);
    const model = new GPT(e, config, 1);
    assert.equal(s.params, model.parameterCount());
    assert.equal(s.metrics.params, model.parameterCount());
    model.dispose();
    const saved = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as { model: GPTConfig; attention: string };
    assert.deepEqual(saved.model, config, "config.json holds the model that was trained");
    assert.equal(saved.attention, kind);
  }
});

test("train pretrain --measure-decode times KV-cached decoding; a bad --attention is refused in one line", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "r1lab-cli-mla-")), "mqa");
  const r = await cli(["train", "pretrain", "--preset", "ci", "--backend", "cpu", "--steps", "2", "--attention", "mqa", "--measure-decode", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
  assert.ok((s.metrics.decode_tokens_per_s ?? 0) > 0, `decode_tokens_per_s ${s.metrics.decode_tokens_per_s}`);
  assert.match(s.command, /--attention mqa --measure-decode/);
  assert.equal(s.metrics.kv_cache_elements_per_token, EXPECTED_ELEMENTS.mqa);

  const bad = await cli(["train", "pretrain", "--attention", "latent", "--out", out]);
  assert.notEqual(bad.code, 0);
  const lines = bad.stderr.split("\n").filter((l) => l && !l.includes("XDG_RUNTIME_DIR"));
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.match(lines[0]!, /--attention must be one of mha, gqa, mqa, mla, got "latent"/);
});

test("withAttention: MHA, GQA, MQA and MLA versions of both presets are valid, MLA's cache under half of MHA's, parameters within 10%", () => {
  const e = new Engine(new CpuBackend());
  for (const preset of ["ci", "default"] as const) {
    const base = pretrainPreset(preset).model;
    const count = (k: AttentionKind) => {
      const m = new GPT(e, withAttention(base, k), 1);
      const r = { params: m.parameterCount(), cache: m.kvCacheFloatsPerToken() };
      m.dispose();
      return r;
    };
    const mha = count("mha"), gqa = count("gqa"), mqa = count("mqa"), mla = count("mla");
    assert.ok(mla.cache < mha.cache / 2, `${preset}: MLA caches ${mla.cache}, MHA ${mha.cache}`);
    assert.ok(mha.cache > gqa.cache && gqa.cache > mqa.cache, `${preset}: MHA > GQA > MQA`);
    assert.ok(Math.abs(mla.params / mha.params - 1) < 0.1, `${preset}: MLA ${mla.params} vs MHA ${mha.params} parameters`);
    assert.equal(withAttention(base, "gqa").nKvHeads, base.nKvHeads, `${preset}: gqa is the preset's own model`);
  }
});

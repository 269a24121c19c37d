// The run harness's job contract, checked in Node (no browser): every registered
// job has valid "default" and "ci" presets, its ci preset runs to the end on the CPU
// engine yielding metrics.jsonl-style records, and one seed gives one run.
// Also: the validation messages the page shows, and the static server's routing.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { JOBS } from "../../src/harness/registry.js";
import { checkJobDef, validateConfig, type MetricRecord } from "../../src/harness/jobs.js";
import { CpuBackend } from "../../src/cpu/index.js";
import { resolveFile } from "../../scripts/serve-built.js";
import { DIST, ROOT } from "./helpers.js";
import { readFileSync } from "node:fs";

// the shipped checkpoints, for jobs that start from one (the page passes their URLs)
const shipped = (dir: string) => `data:application/octet-stream;base64,${readFileSync(join(ROOT, "data/checkpoints", dir, "model.safetensors")).toString("base64")}`;
const CHECKPOINT_URLS: Record<string, () => string> = {
  checkpointUrl: () => shipped("pretrain-default"), sftCheckpointUrl: () => shipped("sft-default"), grpoCheckpointUrl: () => shipped("grpo-default"),
};

async function collect(name: string, preset: string): Promise<MetricRecord[]> {
  const job = JOBS[name]!;
  const backend = new CpuBackend();
  const out: MetricRecord[] = [];
  const config = { ...job.presets[preset]! };
  for (const [k, url] of Object.entries(CHECKPOINT_URLS)) if (config[k] === "") config[k] = url();
  for await (const r of job.run(config, backend)) out.push(r);
  backend.destroy();
  return out;
}

describe("job registry", () => {
  for (const [name, job] of Object.entries(JOBS)) {
    test(`${name}: presets are valid`, () => {
      assert.deepEqual(checkJobDef(job), []);
      assert.equal(job.name, name);
      assert.ok(job.charts.length > 0);
    });

    test(`${name}: the ci preset runs on the CPU engine and yields one record per step`, { timeout: 120_000 }, async () => {
      const records = await collect(name, "ci");
      const steps = job.presets["ci"]!.steps;
      assert.equal(records.length, steps);
      records.forEach((r, i) => {
        assert.equal(r.step, i + 1);
        assert.ok(Number.isFinite(r.loss), `step ${r.step}: loss ${r.loss}`);
        for (const [k, v] of Object.entries(r)) assert.ok(typeof v === "number", `${k} is a number (metrics.jsonl)`);
        assert.doesNotThrow(() => JSON.parse(JSON.stringify(r)));
      });
      for (const c of job.charts) for (const k of c.keys) assert.ok(records.some((r) => typeof r[k] === "number"), `chart key ${k} appears`);
      if (job.lossFalls ?? true) assert.ok(records.at(-1)!.loss < records[0]!.loss, "the loss goes down");
    });

    test(`${name}: same seed, same run`, { timeout: 120_000 }, async () => {
      const strip = (rs: MetricRecord[]) => rs.map(({ ms_per_step: _, ...rest }) => rest);
      assert.deepEqual(strip(await collect(name, "ci")), strip(await collect(name, "ci")));
    });
  }
});

describe("hyperparameter validation", () => {
  const job = JOBS["engine-spirals"]!;
  const base = job.presets["default"]!;
  test("accepts a preset and parses typed strings", () => {
    const r = validateConfig(job, { ...base, lr: "0.05", hidden: "16" });
    assert.ok(r.ok);
    if (r.ok) { assert.equal(r.config["lr"], 0.05); assert.equal(r.config["hidden"], 16); }
  });
  const bad: [string, unknown, RegExp][] = [
    ["lr", "abc", /learning rate must be a number between 0\.00001|learning rate must be a number between 1e-5/],
    ["lr", "", /learning rate must be a number .*\(got nothing\)|got ""/],
    ["lr", "-1", /learning rate must be between/],
    ["hidden", "2.5", /hidden width must be a whole number/],
    ["seed", "-3", /seed must be between 0 and/],
    ["steps", "0", /steps must be between 1 and/],
    ["activation", "swish", /activation must be one of tanh, relu, gelu, silu/],
  ];
  for (const [key, value, message] of bad) {
    test(`rejects ${key} = ${JSON.stringify(value)} with a message`, () => {
      const r = validateConfig(job, { ...base, [key]: value });
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.errors[0]!.key, key);
        assert.match(r.errors[0]!.message, message);
      }
    });
  }
});

describe("static server routing", () => {
  test("clean URLs, index, and no escaping the root", () => {
    assert.equal(resolveFile(DIST, "/"), join(DIST, "index.html"));
    assert.equal(resolveFile(DIST, "/engine"), join(DIST, "engine.html"));
    assert.equal(resolveFile(DIST, "/engine?x=1#y"), join(DIST, "engine.html"));
    assert.equal(resolveFile(DIST, "/../package.json"), null);
    assert.equal(resolveFile(DIST, "/%2e%2e/package.json"), null);
    assert.equal(resolveFile(DIST, "/no-such-page"), null);
  });
});

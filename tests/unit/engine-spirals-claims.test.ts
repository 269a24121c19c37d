// Every caption on the Engine page that says what a spirals run shows is run here and
// asserted: the presets at their page size (each takes under a second on the CPU engine),
// then each claim's check from src/harness/jobs/engine-spirals-claims.ts.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createBackend } from "../../src/tensor/create.js";
import type { Backend } from "../../src/tensor/backend.js";
import type { MetricRecord } from "../../src/harness/jobs.js";
import { SPIRALS_PRESETS, spiralsJob, spiralsTape } from "../../src/harness/jobs/engine-spirals.js";
import { SPIRALS_EXPERIMENTS, SPIRALS_NOTICE, type RunClaim, type Runs } from "../../src/harness/jobs/engine-spirals-claims.js";

const CLAIMS: readonly RunClaim[] = [...SPIRALS_NOTICE, ...SPIRALS_EXPERIMENTS];
let backend: Backend;
const cache = new Map<string, MetricRecord[]>();

async function records(preset: string): Promise<MetricRecord[]> {
  const hit = cache.get(preset);
  if (hit) return hit;
  const config = SPIRALS_PRESETS[preset];
  assert.ok(config, `no preset "${preset}"`);
  const out: MetricRecord[] = [];
  for await (const r of spiralsJob.run(config, backend)) out.push(r);
  cache.set(preset, out);
  return out;
}
async function runsFor(claim: RunClaim): Promise<Runs> {
  const runs: Record<string, MetricRecord[]> = {};
  for (const p of claim.needs) runs[p] = await records(p);
  return runs;
}

describe("the Engine page's spirals captions hold", () => {
  before(async () => { backend = await createBackend("cpu"); });

  test("every experiment button loads a preset that exists", () => {
    for (const c of CLAIMS) {
      assert.ok(SPIRALS_PRESETS[c.preset], `${c.key}: preset "${c.preset}"`);
      for (const p of c.needs) assert.ok(SPIRALS_PRESETS[p], `${c.key}: needs "${p}"`);
    }
  });

  for (const claim of CLAIMS) {
    test(`${claim.key}: ${claim.text.slice(0, 60)}…`, { timeout: 60_000 }, async () => {
      const { holds, measured } = claim.check(await runsFor(claim));
      assert.ok(holds, `the caption "${claim.text}" does not hold: ${measured}`);
    });
  }

  // A check that passes on any run asserts nothing: each one must reject a run of the
  // wrong preset (here, the default run in place of the experiment's, and vice versa).
  test("each check rejects a run that does not bear its claim out", { timeout: 60_000 }, async () => {
    const swap: Record<string, [string, string]> = {
      "default-slow-start": ["default", "relu"],
      "lr-too-high": ["lr too high", "default"],
      "too-narrow": ["too narrow", "default"],
      "one-layer": ["one layer", "default"],
      relu: ["relu", "one layer"],
    };
    for (const claim of CLAIMS) {
      const s = swap[claim.key];
      assert.ok(s, `no counter-example for ${claim.key}: add one here`);
      const runs: Record<string, MetricRecord[]> = {};
      for (const p of claim.needs) runs[p] = await records(p);
      runs[s[0]] = await records(s[1]);
      assert.equal(claim.check(runs).holds, false, `${claim.key} also "holds" on the ${s[1]} run`);
    }
  });
});

describe("the Engine page's tape diagram", () => {
  test("is the engine's tape of the default preset: one matmul, add per layer, the activation between, then the loss", async () => {
    const cfg = SPIRALS_PRESETS["default"]!;
    const tape = await spiralsTape(cfg, await createBackend("cpu"));
    const ops = tape.map((e) => e.op);
    const layer = ["matmul", "add", cfg.activation];
    const expected = [...Array.from({ length: cfg.layers }, () => layer).flat(), "matmul", "add", "crossEntropy", "reshape", "sum", "affine"];
    assert.deepEqual(ops, expected);
    assert.deepEqual(tape[0]!.inputs, [[2 * cfg.points, 2], [2, cfg.hidden]]);
    assert.deepEqual(tape.at(-1)!.output, [1]);
  });
});

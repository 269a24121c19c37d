// The Pretrain lesson in Chromium (WebGPU on SwiftShader when the machine has no GPU):
// a short run of the ci preset streams points into the loss chart, samples appear and
// improve, the checks fill in, the attention map follows a typed prompt and the run's
// weights; the shipped checkpoint loads into the worker; bad shapes are refused.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright";
import { CpuBackend } from "../../src/cpu/index.js";
import { GPT } from "../../src/nn/gpt.js";
import { Engine } from "../../src/tensor/engine.js";
import { gptConfig, PRETRAIN_JOB_PRESETS } from "../../src/harness/jobs/pretrain.js";
import { ROOT, openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

const SHIPPED = existsSync(join(ROOT, "data", "checkpoints", "pretrain-default", "model.safetensors"));

function paramCount(preset: string): number {
  const backend = new CpuBackend();
  const model = new GPT(new Engine(backend), gptConfig(PRETRAIN_JOB_PRESETS[preset]!), 1);
  const n = model.parameterCount();
  backend.destroy();
  return n;
}

const records = (page: Page) => page.evaluate(() => Number(document.querySelector<HTMLElement>(".r1h")?.dataset.records ?? 0));

describe("Pretrain lesson", () => {
  test("the ci preset runs: the loss chart gets points, samples appear, the checks and the attention map follow the run", { timeout: 150_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/pretrain");
    try {
      const h = page.locator(".r1h[data-job=pretrain]");
      await h.waitFor({ timeout: 30_000 });
      // the size table follows the inputs
      const size = page.locator(".r1-pt-size");
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>(".r1-pt-size")?.dataset.params) > 0, null, { timeout: 30_000 });
      assert.equal(Number(await size.getAttribute("data-params")), paramCount("default"), "parameter count of the default preset");
      await h.locator("select[name=preset]").selectOption("ci");
      const ci = paramCount("ci");
      await page.waitForFunction((n) => Number(document.querySelector<HTMLElement>(".r1-pt-size")?.dataset.params) === n, ci, { timeout: 10_000 });
      await page.waitForFunction(() => /× 2 blocks/.test(document.querySelector(".r1-pt-diagram")?.textContent ?? ""), null, { timeout: 10_000 });

      // the attention map: shipped model first (when it is in the build), then a prompt the learner types
      const attn = page.locator(".r1-pt-attention");
      if (SHIPPED) {
        await page.waitForSelector(".r1-pt-attention[data-state=drawn]", { timeout: 30_000 });
        assert.match((await attn.getAttribute("data-source")) ?? "", /shipped base model/);
        await attn.locator("input[name=attention-prompt]").fill("12+34=46.");
        await page.waitForFunction(() => document.querySelector<HTMLElement>(".r1-pt-attention")?.dataset.tokens === "10", null, { timeout: 10_000 });
        assert.equal(await attn.locator(".r1v-heatmap").getAttribute("data-cells"), "100", "10 × 10 map (BOS + 9 characters)");
        await attn.locator("select[name=attention-layer]").selectOption("2");
        await attn.locator("select[name=attention-head]").selectOption("3");
        assert.match((await attn.locator(".r1v-title").textContent()) ?? "", /layer 2, head 3/);
        await attn.locator("input[name=attention-prompt]").fill("1<2");
        await page.waitForFunction(() => /unknown character/.test(document.querySelector(".r1-pt-attention .r1-pt-error")?.textContent ?? ""), null, { timeout: 10_000 });
        await attn.locator("input[name=attention-prompt]").fill("12+34=46.");
      }

      // run the ci preset (20 steps)
      await h.locator("button[data-action=run]").click();
      // On the fast CPU engine the 20 steps can finish before a poll sees the step-0 samples,
      // so the samples' history (one entry per sampling) is what shows they followed the run.
      await page.waitForSelector(".r1h[data-state=done]", { timeout: 100_000 });
      const sampled = await page.locator(".r1-pt-history > div").evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.step)));
      assert.ok(sampled.includes(0), `samples from the untrained weights (step 0) were drawn: ${sampled}`);
      assert.ok(sampled.length >= 2, `samples were drawn more than once during the run: ${sampled}`);
      assert.equal(await page.locator(".r1-pt-samples").getAttribute("data-samples"), "3");
      assert.ok(Number(await page.locator(".r1-pt-samples .r1v-tokenstrip").first().getAttribute("data-tokens")) > 0, "a sample's tokens are drawn");
      assert.equal(await records(page), 20, "ci runs 20 steps");
      const points = await h.locator(".r1v-linechart").evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.points)));
      assert.ok(points[0]! >= 20 + 2 + 2, `loss chart: 20 losses, 2 val losses and the unigram line (got ${points[0]})`);
      assert.ok(points.every((p) => p > 0), `every chart (loss, grad norm, lr, tokens/s) received points: ${points}`);
      assert.equal(points.length, 4, "three job charts and the tokens/s chart");
      assert.equal(await page.locator(".r1-pt-samples").getAttribute("data-step"), "20", "samples follow the run to its end");
      assert.match((await attn.getAttribute("data-source")) ?? "", /This run's model, after step 20/);
      assert.equal(await attn.getAttribute("data-state"), "drawn");

      // the checks are measured on this run
      await page.waitForSelector(".r1-claims[data-checked=yes]", { timeout: 30_000 });
      assert.equal(await page.locator("li[data-claim=falls]").getAttribute("data-state"), "pass");
      assert.match((await page.locator("li[data-claim=unigram]").textContent()) ?? "", /unigram model's \d\.\d{3}/);
      assert.match((await page.locator("li[data-claim=heldout]").textContent()) ?? "", /Asked 20 held-out questions/);
      assert.match((await page.locator("li[data-claim=recorded]").textContent()) ?? "", /not a recorded configuration/);
      const recorded = await page.locator(".r1-pt-results").getAttribute("data-recorded");
      assert.equal(recorded, existsSync(join(ROOT, "data", "results", "pretrain.json")) ? "yes" : "missing");
      await screenshot(page, "pretrain-after-run");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test("bad shapes are refused with a message; an experiment button loads its preset", { timeout: 60_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/pretrain");
    try {
      const h = page.locator(".r1h[data-job=pretrain]");
      await h.waitFor({ timeout: 30_000 });
      const run = h.locator("button[data-action=run]");
      await h.locator("input[name=nHeads]").fill("3");
      assert.match((await h.locator(".r1h-errors").textContent()) ?? "", /d_model \(64\) must be divisible by heads \(3\)/);
      assert.ok(await run.isDisabled());
      await page.waitForFunction(() => /Fix the highlighted inputs/.test(document.querySelector(".r1-pt-size")?.textContent ?? ""), null, { timeout: 10_000 });
      await h.locator("input[name=nHeads]").fill("4");
      await h.locator("input[name=nKvHeads]").fill("3");
      assert.match((await h.locator(".r1h-errors").textContent()) ?? "", /heads \(4\) must be a multiple of KV heads \(3\)/);
      await page.locator("button[data-preset='from the checkpoint']").click();
      assert.equal(await h.locator("select[name=preset]").inputValue(), "from the checkpoint");
      assert.equal(((await h.locator(".r1h-errors").textContent()) ?? "").trim(), "");
      await h.locator("input[name=dModel]").fill("32");
      assert.match((await h.locator(".r1h-errors").textContent()) ?? "", /the shipped checkpoint is d_model 64/);
      await page.locator("button[data-preset='MQA (1 KV head)']").click();
      await page.waitForFunction(() => /1 KV head \(MQA\)/.test(document.querySelector(".r1-pt-diagram")?.textContent ?? ""), null, { timeout: 10_000 });
      assert.ok(await run.isEnabled());
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test("training can start from the shipped checkpoint", { timeout: 120_000, skip: SHIPPED ? false : "data/checkpoints/pretrain-default is not in this build" }, async () => {
    const { page, context, problems } = await openPage(site, "/pretrain");
    try {
      const h = page.locator(".r1h[data-job=pretrain]");
      await h.waitFor({ timeout: 30_000 });
      await page.locator("button[data-preset='from the checkpoint']").click();
      // two steps, short samples, no held-out questions: enough to see where the loss starts
      await h.locator("input[name=steps]").fill("2");
      await h.locator("input[name=sampleEvery]").fill("2");
      await h.locator("input[name=sampleTokens]").fill("16");
      await h.locator("input[name=heldoutQuestions]").fill("0");
      await h.locator("input[name=evalBatches]").fill("1");
      const t0 = Date.now();
      await h.locator("button[data-action=run]").click();
      await page.waitForSelector(".r1h[data-state=done], .r1h[data-state=error]", { timeout: 100_000 });
      if ((await h.getAttribute("data-state")) !== "done") assert.fail(`the run stopped: ${await h.locator(".r1h-alert").textContent()}`);
      const first = await page.evaluate(() => (document.querySelector(".r1h") as HTMLElement & { harness?: { records: { loss: number }[] } }).harness!.records[0]!.loss);
      assert.ok(first < 2, `the first loss from the shipped model is ${first}, far below the ~4.6 of random weights`);
      console.log(`from the checkpoint: 2 steps in ${((Date.now() - t0) / 1000).toFixed(1)} s, first loss ${first.toFixed(3)}`);
      await page.locator(".r1-pt-samples").scrollIntoViewIfNeeded();
      await screenshot(page, "pretrain-from-checkpoint");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

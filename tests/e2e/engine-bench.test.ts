// The Engine lesson's "Compare with TensorFlow.js and jax-js" panel, in Chromium on
// whatever adapter it finds (SwiftShader without a GPU): with the smallest size only,
// the button runs the in-page benchmark (bench/browser.ts), every correctness check
// passes, the grouped bar chart and ratio table appear with finite numbers, and the
// recorded results from bench/results/*.json are drawn. Without WebGPU the panel says so.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("Engine lesson: comparison with TensorFlow.js and jax-js", () => {
  test("the button runs the checked benchmark at 128² and draws the chart and ratios", { timeout: 120_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/engine");
    try {
      // the benchmarks are folded away in a <details>: open it as a learner would
      const more = page.locator("details.r1-more", { has: page.locator(".r1-benchcmp") });
      assert.equal(await more.getAttribute("open"), null, "the benchmarks start folded away");
      await more.locator("summary").click();
      const panel = page.locator(".r1-benchcmp");
      await panel.waitFor({ timeout: 30_000 });
      assert.equal(await panel.getAttribute("data-state"), "idle");
      // the recorded runs are drawn from bench/results/*.json
      await page.waitForSelector(".r1-benchcmp-recorded[data-recorded=yes] svg.r1-benchcmp-chart", { timeout: 30_000 });
      assert.ok(await page.locator(".r1-benchcmp-recorded[data-recorded=yes]").count() >= 1, "recorded results shown");

      await panel.locator("input[name=size-256]").uncheck();
      assert.ok(await panel.locator("input[name=size-128]").isChecked());
      const button = panel.getByRole("button", { name: "Compare with TensorFlow.js and jax-js" });
      const t0 = Date.now();
      await button.click();
      await page.waitForSelector(".r1-benchcmp[data-state=done], .r1-benchcmp[data-state=error]", { timeout: 100_000 });
      const seconds = (Date.now() - t0) / 1000;
      const status = (await panel.locator(".r1-benchcmp-status").textContent()) ?? "";
      assert.equal(await panel.getAttribute("data-state"), "done", status);

      const failed = await panel.locator(".r1-benchcmp-checks li[data-ok=false]").allTextContents();
      assert.deepEqual(failed, [], `failed checks: ${failed.join(" | ")}`);
      assert.equal(await panel.getAttribute("data-checks-failed"), "0");
      const passed = Number(await panel.getAttribute("data-checks-passed"));
      // matmul 128²: R1 Lab, tfjs, jax; training step: R1 Lab, tfjs vs R1 Lab
      assert.ok(passed >= 5, `${passed} checks passed`);

      const chart = panel.locator(".r1-benchcmp-out svg.r1-benchcmp-chart");
      assert.equal(await chart.getAttribute("data-bars"), "3", "one bar per library at 128²");
      const heights = await chart.locator("rect.r1-benchcmp-bar").evaluateAll((rs) => rs.map((r) => Number(r.getAttribute("height"))));
      assert.ok(heights.every((x) => Number.isFinite(x) && x > 0), `bar heights ${heights}`);
      const cells = await panel.locator(".r1-benchcmp-out table.r1-benchcmp-ratios tr[data-size='128²'] td").allTextContents();
      assert.equal(cells.length, 6);
      for (const c of cells.slice(1)) {
        const v = Number.parseFloat(c);
        assert.ok(Number.isFinite(v) && v > 0, `not a finite positive number: "${c}" in ${cells.join(", ")}`);
      }
      const train = (await panel.locator(".r1-benchcmp-out .r1-benchcmp-train").textContent()) ?? "";
      const ms = [...train.matchAll(/([\d.]+) ms/g)].map((m) => Number(m[1]));
      assert.equal(ms.length, 2, train);
      assert.ok(ms.every((x) => Number.isFinite(x) && x > 0), train);
      console.log(`comparison took ${seconds.toFixed(1)} s: ${cells.join(" | ")}; ${train}`);
      await panel.scrollIntoViewIfNeeded();
      await screenshot(page, "engine-bench-compare");
      await panel.screenshot({ path: join(SHOTS, "engine-bench-compare-panel.png") });
      assert.deepEqual(problems, [], problems.join("\n"));
    } finally {
      await context.close();
    }
  });

  test("without WebGPU the panel says so and skips", { timeout: 60_000 }, async () => {
    const { page, context } = await openPage(site, "/engine", { noWebGPU: true });
    try {
      const panel = page.locator(".r1-benchcmp");
      await panel.waitFor({ state: "attached", timeout: 30_000 });
      assert.equal(await panel.getAttribute("data-state"), "nowebgpu");
      assert.match((await panel.textContent()) ?? "", /WebGPU is not available/);
      // (by selector: a role query skips the folded <details> the panel sits in)
      assert.ok(await panel.locator("button[data-action=compare]").isDisabled());
    } finally {
      await context.close();
    }
  });
});

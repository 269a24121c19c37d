// The Test-time compute lesson in Chromium: a held-out question answered three ways by
// the shipped SFT model, the recorded charts, and a small live run that draws the
// self-consistency, budget and compute charts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("Test-time compute lesson", () => {
  test("three ways to answer, recorded charts, and a live run draws the self-consistency chart", { timeout: 300_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/test-time");
    try {
      await page.waitForSelector(".r1-tt-three tr[data-budget='256']", { timeout: 60_000 });
      assert.equal(await page.locator(".r1-tt-three tr[data-budget]").count(), 3);
      assert.ok(await page.locator(".r1-tt-compute[data-points]").count() >= 1, "the recorded compute chart");
      const findings = (await page.locator(".r1-tt-findings").textContent()) ?? "";
      for (const model of ["sft", "grpo", "distilled student"]) assert.match(findings, new RegExp(`${model}: thinking \\d`), `${model} is among the recorded models`);
      assert.match((await page.locator("main").textContent()) ?? "", /Even in its own textbook format, .*?right \d+\.\d+% of the time per sample and at least once in 64 tries on \d+\.\d% of the problems/);
      assert.match((await page.locator("main").textContent()) ?? "", /distilled student is the Distillation lesson's small model .*?: greedy it answers \d+\.\d%/);
      const h = page.locator(".r1h[data-job='test-time']");
      await h.locator("select[name=preset]").selectOption("ci");
      await h.locator("button[data-action=run]").click();
      await page.waitForSelector(".r1h[data-state=done], .r1h[data-state=error]", { timeout: 240_000 });
      if ((await h.getAttribute("data-state")) !== "done") assert.fail(`the run stopped: ${await h.locator(".r1h-alert").textContent()}`);
      await page.waitForSelector(".r1-tt-live[data-problems='2'] .r1-tt-sc", { timeout: 30_000 });
      assert.equal(await page.locator(".r1-tt-live .r1-tt-compute").getAttribute("data-points"), String(1 + 7 + 1 + 3));
      assert.match((await page.locator(".r1-tt-cost").textContent()) ?? "", /ms per generated token/);
      await page.locator(".r1-tt-live").scrollIntoViewIfNeeded();
      await screenshot(page, "test-time-ci-run");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

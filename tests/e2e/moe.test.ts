// The MoE lesson in Chromium: before any run the page routes the typed prompt
// through an untrained model and the Run button says how long a run takes; a short
// ci run draws the expert-load heatmap (experts × steps, one per MoE layer) and
// re-routes the prompt through the trained model; the recorded curves are drawn.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("MoE lesson", () => {
  test("a ci run draws the load heatmap and re-routes the prompt", { timeout: 240_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/moe");
    try {
      const h = page.locator(".r1h[data-job=moe]");
      await h.waitFor({ timeout: 30_000 });
      // before any run: the prompt's tokens routed by an untrained model, 3 experts each in 2 layers
      await page.waitForSelector(".r1-moe-routing[data-step=untrained] .r1-moe-route", { timeout: 30_000 });
      const tokens = Number(await page.locator(".r1-moe-route").getAttribute("data-tokens"));
      assert.ok(tokens > 10, `${tokens} tokens routed`);
      assert.equal(await page.locator(".r1-moe-route tr").nth(1).locator(".r1-moe-chip").count(), 6, "3 experts × 2 layers");
      // typing changes the table
      await page.locator("input[name=route-prompt]").fill("12+34=46");
      await page.waitForFunction(() => document.querySelector(".r1-moe-route")?.getAttribute("data-tokens") === "9", null, { timeout: 10_000 });
      // the recorded curves
      assert.ok(await page.locator(".r1-moe-imbalance svg path").count() > 0, "the recorded imbalance curves");

      await h.locator("select[name=preset]").selectOption("ci");
      await page.waitForSelector(".r1h[data-eta=ready]", { timeout: 90_000 });
      assert.match((await h.locator("button[data-action=run]").textContent()) ?? "", /Run \(about \d+(\.\d)? (s|min|h)/, "the time before Run");

      await h.locator("button[data-action=run]").click();
      await page.waitForSelector(".r1h[data-state=done], .r1h[data-state=error]", { timeout: 200_000 });
      if ((await h.getAttribute("data-state")) !== "done") assert.fail(`the run stopped: ${await h.locator(".r1h-alert").textContent()}`);
      assert.equal(await h.getAttribute("data-records"), "20");
      await page.waitForSelector(".r1-moe-heat[data-steps='20']", { timeout: 30_000 });
      assert.equal(await page.locator(".r1-moe-heat .r1v-heatmap").count(), 2, "one heatmap per MoE layer");
      await page.waitForSelector(".r1-moe-routing[data-step='20'] .r1-moe-route", { timeout: 30_000 });

      // dense vs sparse dispatch measured on this machine; the button says how long first
      const measure = page.locator("button[data-action=measure-dispatch]");
      assert.match((await measure.textContent()) ?? "", /about \d+(\.\d)? (s|min)/);
      await measure.click();
      await page.waitForSelector(".r1-moe-measure[data-done=true]", { timeout: 60_000 });
      assert.match((await page.locator(".r1-moe-measure").textContent()) ?? "", /dense dispatch [\d.]+ ms per step \(91,456 FLOPs per token\), sparse [\d.]+ ms \(60,736\)/);

      await page.locator(".r1-moe-heat").scrollIntoViewIfNeeded();
      await screenshot(page, "moe-ci-run");
      await page.locator(".r1-moe-heat").screenshot({ path: join(SHOTS, "moe-heatmap.png") });
      await page.locator(".r1-moe-routing").locator("xpath=..").screenshot({ path: join(SHOTS, "moe-routing.png") });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

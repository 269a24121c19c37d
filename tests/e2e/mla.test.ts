// The MLA lesson in Chromium: the picture of one token's cache, the calculator (filled
// with DeepSeek-V2's sizes, then the learner's own), the time before Run, and a short
// ci run of the four attention kinds that draws their loss curves and fills the decode
// table with measured cache bytes and tokens/s.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("MLA lesson", () => {
  test("the calculator gives DeepSeek-V2's 576 vs 32,768; a ci run draws four loss curves and measures each cache while decoding", { timeout: 240_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/mla");
    try {
      // the picture: one token's cache per layer in the learner's ci model (4 heads of 8)
      const picture = page.locator(".r1-mla-picture");
      await picture.waitFor({ timeout: 30_000 });
      assert.equal(await picture.locator(".row[data-kind=mha]").getAttribute("data-values"), "64");
      assert.equal(await picture.locator(".row[data-kind=mla]").getAttribute("data-values"), "20");
      assert.equal(await picture.locator(".row[data-kind=mla] .cells i").count(), 20, "one cell per cached value");

      // the calculator
      const calc = page.locator(".r1-mla-calc");
      await calc.locator("select[name=calc-preset]").selectOption("DeepSeek-V2");
      const row = (kind: string) => calc.locator(`tr[data-kind=${kind}]`);
      assert.equal(await row("mla").getAttribute("data-values"), "576");
      assert.equal(await row("mha").getAttribute("data-values"), "32768");
      assert.match((await row("mla").textContent()) ?? "", /9\.06 GB/);
      assert.match((await row("mha").textContent()) ?? "", /515\.40 GB/);
      assert.match((await row("mla").textContent()) ?? "", /1\.8%/);
      // the learner types a context of 1,000 tokens and 4-byte values
      await calc.locator("input[name=tokens]").fill("1000");
      await calc.locator("input[name=bytes]").fill("4");
      assert.equal(await row("mla").getAttribute("data-bytes"), String(576 * 60 * 1000 * 4));
      await calc.locator("input[name=dC]").fill("-3");
      assert.equal(await calc.getAttribute("data-state"), "invalid");
      await calc.locator("select[name=calc-preset]").selectOption("your model (ci preset)");
      assert.equal(await row("mla").getAttribute("data-values"), "20");
      assert.equal(await calc.getAttribute("data-state"), "ok");

      // the run: ci preset, the time shown before Run
      const h = page.locator(".r1h[data-job=mla]");
      await h.locator("select[name=preset]").selectOption("ci");
      const run = h.locator("button[data-action=run]");
      await page.waitForFunction(() => /Run \(about /.test(document.querySelector(".r1h[data-job=mla] button[data-action=run]")?.textContent ?? ""), null, { timeout: 60_000 });
      assert.match((await run.textContent()) ?? "", /Run \(about \d/);
      await run.click();
      await page.waitForSelector(".r1h[data-job=mla][data-state=done], .r1h[data-job=mla][data-state=error]", { timeout: 200_000 });
      if ((await h.getAttribute("data-state")) !== "done") assert.fail(`the run stopped: ${await h.locator(".r1h-alert").textContent()}`);
      assert.equal(await h.getAttribute("data-records"), "30");
      const charts = h.locator(".r1v-linechart");
      await page.waitForFunction(() => document.querySelector(".r1h[data-job=mla] .r1v-linechart")?.getAttribute("data-points") === "120", null, { timeout: 10_000 });
      assert.equal(await charts.nth(0).getAttribute("data-points"), "120", "four training curves of 30 points");
      assert.equal(await charts.nth(1).getAttribute("data-points"), "12", "four validation curves of 3 points");

      // the decode table: measured on this engine
      await page.waitForSelector(".r1-mla-decode[data-state=decoded]", { timeout: 60_000 });
      const cells = async (kind: string) => (await page.locator(`.r1-mla-decode tr[data-kind=${kind}] td`).allTextContents()).map((t) => Number(t.replace(/,/g, "")));
      const mla = await cells("mla"), mha = await cells("mha");
      assert.equal(mla[2], 40, "MLA caches 2·(16 + 4) values per token");
      assert.equal(mha[2], 128);
      assert.equal(mla[4], mla[3], "bytes held while decoding = the cache tensors' bytes (CPU engine)");
      assert.ok(mla[5]! > 0 && mha[5]! > 0, "tokens/s measured");

      // the recorded results
      assert.equal(await page.locator(".r1-mla-results").getAttribute("data-recorded"), "yes");
      assert.ok(await page.locator(".r1-mla-results tr[data-kind=mla]").count() >= 1);

      await h.scrollIntoViewIfNeeded();
      await screenshot(page, "mla-ci-run");
      await h.screenshot({ path: join(SHOTS, "mla-harness.png") });
      await calc.screenshot({ path: join(SHOTS, "mla-calculator.png") });
      await picture.screenshot({ path: join(SHOTS, "mla-picture.png") });
      await page.locator(".r1-mla-decode").screenshot({ path: join(SHOTS, "mla-decode.png") });
      await page.locator(".r1-mla-results").screenshot({ path: join(SHOTS, "mla-results.png") });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

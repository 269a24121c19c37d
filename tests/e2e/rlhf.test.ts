// The RLHF lesson in Chromium: shipped preference pairs (one flipped label on show), the
// recorded reward-model calibration and the
// proxy-vs-gold chart render from data/results/rlhf.json, and a small live run (the
// job's ci preset: pairs → reward model → RL against it) draws the live proxy-vs-gold
// chart against KL.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("RLHF lesson", () => {
  test("recorded calibration and proxy-vs-gold charts; a ci run draws the live proxy-vs-gold chart", { timeout: 300_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/rlhf");
    try {
      await page.locator(".r1-rlhf-pairs[data-recorded=yes]").waitFor({ timeout: 30_000 });
      assert.equal(await page.locator(".r1-rlhf-pairs tr[data-flipped=true]").count(), 1, "one noisy label on show");
      assert.ok((await page.locator(".r1-rlhf-pairs tr[data-flipped=false]").count()) >= 3);
      await page.locator(".r1-rlhf-pairs").screenshot({ path: join(SHOTS, "rlhf-pairs.png") });
      await page.locator(".r1-rlhf-rm[data-recorded=yes]").waitFor({ timeout: 30_000 });
      await page.locator(".r1-rlhf-proxy-gold[data-recorded=yes]").waitFor({ timeout: 30_000 });
      const recordedPoints = await page.locator(".r1-rlhf-proxy-gold .r1v-linechart").first().getAttribute("data-points");
      assert.ok(Number(recordedPoints) >= 10, `recorded gold curves have points (${recordedPoints})`);
      await page.locator(".r1-rlhf-proxy-gold").screenshot({ path: join(SHOTS, "rlhf-proxy-gold-recorded.png") });
      await page.locator(".r1-rlhf-rm").screenshot({ path: join(SHOTS, "rlhf-rm-calibration.png") });

      const h = page.locator(".r1h[data-job=rlhf]");
      await h.waitFor({ timeout: 30_000 });
      await h.locator("select[name=preset]").selectOption("ci");
      await h.locator("button[data-action=run]").click();
      await page.waitForSelector(".r1h[data-state=done], .r1h[data-state=error]", { timeout: 240_000 });
      if ((await h.getAttribute("data-state")) !== "done") assert.fail(`the run stopped: ${await h.locator(".r1h-alert").textContent()}`);
      assert.equal(await h.getAttribute("data-records"), "4", "four RL steps");
      const live = page.locator(".r1-rlhf-live");
      assert.equal(await live.getAttribute("data-points"), "3", "gold and proxy measured at the start and after steps 2 and 4");
      assert.equal(await live.locator(".r1v-linechart").getAttribute("data-points"), "6", "two series of three points");
      assert.equal(await live.locator(".r1-rlhf-phase").getAttribute("data-phase"), "rl", "the phase line followed the run to its RL steps");
      assert.match((await live.locator(".r1-rlhf-phase").textContent()) ?? "", /^3 of 3 · RL: 4 steps/);
      await live.scrollIntoViewIfNeeded();
      await live.screenshot({ path: join(SHOTS, "rlhf-live-proxy-gold.png") });
      await screenshot(page, "rlhf-ci-run");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

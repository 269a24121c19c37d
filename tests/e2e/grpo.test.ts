// The GRPO lesson in Chromium: the page samples a real group from the shipped SFT
// model before any training, says how long a run takes before Run, and a ci run fills
// the live group viewer and the diagnostics charts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("GRPO lesson", () => {
  test("a sampled group with rewards and advantages; a ci run fills the live group viewer", { timeout: 300_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/grpo");
    try {
      const h = page.locator(".r1h[data-job=grpo]");
      await h.waitFor({ timeout: 30_000 });
      // before any run: eight real answers from the shipped SFT model, scored by the real rules
      await page.locator("button[data-action=sample-group]").click();
      const sampled = page.locator(".r1-grpo-sample .r1-grpo-viewer[data-samples='8']");
      await sampled.waitFor({ timeout: 60_000 });
      const rewards = await sampled.locator("tr[data-reward]").evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.reward)));
      assert.equal(rewards.length, 8);
      assert.ok(rewards.every((r) => [0, 0.1, 1, 1.1].includes(r)), `rewards ${rewards}`);
      await sampled.screenshot({ path: join(SHOTS, "grpo-sampled-group.png") });

      await h.locator("select[name=preset]").selectOption("ci");
      await page.waitForFunction(() => document.querySelector<HTMLElement>(".r1-grpo-estimate")?.dataset.steps === "2", null, { timeout: 10_000 });
      assert.match((await page.locator(".r1-grpo-estimate").textContent()) ?? "", /^Expected: 2 steps/);
      await h.locator("button[data-action=run]").click();
      await page.waitForSelector(".r1h[data-state=done], .r1h[data-state=error]", { timeout: 240_000 });
      if ((await h.getAttribute("data-state")) !== "done") assert.fail(`the run stopped: ${await h.locator(".r1h-alert").textContent()}`);
      assert.equal(await h.getAttribute("data-records"), "2");
      const live = page.locator(".r1-grpo-viewer[data-step='2']");
      await live.waitFor({ timeout: 30_000 });
      assert.equal(await live.getAttribute("data-samples"), "4");
      await live.scrollIntoViewIfNeeded();
      await screenshot(page, "grpo-ci-run");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

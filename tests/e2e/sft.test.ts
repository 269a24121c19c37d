// The Cold-start SFT lesson in Chromium: the page shows a real trace and its loss
// mask, says how long a run takes before Run, and a short ci run (random weights)
// fills the charts, the trace viewer (with verdicts) and the level table.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("Cold-start SFT lesson", () => {
  test("a few ci steps: records stream in, a trace appears with its verdict, the level table fills", { timeout: 240_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/sft");
    try {
      const h = page.locator(".r1h[data-job=sft]");
      await h.waitFor({ timeout: 30_000 });
      // before any run: a real trace, its loss mask, and the expected time
      assert.match((await page.locator("pre.r1-sft-first").textContent()) ?? "", /^User: .*\. Assistant: <think>.*<\/think>\n<answer>\d+<\/answer>$/s);
      const counted = Number(await page.locator(".r1-sft-mask").locator("xpath=..").getAttribute("data-counted"));
      assert.ok(counted > 10, `the mask counts ${counted} completion tokens`);
      await h.locator("select[name=preset]").selectOption("ci");
      await page.waitForFunction(() => document.querySelector<HTMLElement>(".r1-sft-estimate")?.dataset.steps === "4", null, { timeout: 10_000 });
      assert.match((await page.locator(".r1-sft-estimate").textContent()) ?? "", /^Expected: 4 steps/);

      await h.locator("button[data-action=run]").click();
      await page.waitForSelector(".r1h[data-state=done], .r1h[data-state=error]", { timeout: 200_000 });
      if ((await h.getAttribute("data-state")) !== "done") assert.fail(`the run stopped: ${await h.locator(".r1h-alert").textContent()}`);
      assert.equal(await h.getAttribute("data-records"), "4");
      await page.waitForSelector(".r1-sft-traces[data-step='4'] .r1-sft-trace[data-verdict]", { timeout: 30_000 });
      const verdict = await page.locator(".r1-sft-trace").first().getAttribute("data-verdict");
      assert.ok(verdict === "correct" || verdict === "wrong", `verdict ${verdict}`);
      assert.match((await page.locator(".r1-sft-verdict").first().textContent()) ?? "", /^[✓✗] /);
      assert.ok(await page.locator(".r1-sft-trace .r1v-token").count() > 0, "the completion's tokens are drawn");
      await page.waitForSelector(".r1-sft-levels[data-levels='5']", { timeout: 30_000 });
      await page.locator(".r1-sft-traces").scrollIntoViewIfNeeded();
      await screenshot(page, "sft-ci-run");
      await page.locator(".r1-sft-traces").screenshot({ path: join(SHOTS, "sft-traces.png") });
      await page.locator(".r1-sft-mask").locator("xpath=..").screenshot({ path: join(SHOTS, "sft-mask.png") });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

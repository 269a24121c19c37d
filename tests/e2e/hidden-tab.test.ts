// Hidden tabs (issue 17): a running job pauses at a step boundary when its tab is hidden,
// says so, and resumes when the tab is shown; with "keep running in a hidden tab" it
// goes on. The tab's visibility is simulated (document.hidden + visibilitychange).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openPage, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

const setHidden = (hidden: boolean) => `(() => {
  Object.defineProperty(document, "hidden", { value: ${hidden}, configurable: true });
  Object.defineProperty(document, "visibilityState", { value: "${hidden ? "hidden" : "visible"}", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
})()`;

describe("hidden tabs", () => {
  test("a run pauses while the tab is hidden and resumes when it is shown; the checkbox keeps it running", { timeout: 240_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/pretrain");
    try {
      const h = page.locator(".r1h").first();
      await h.waitFor({ timeout: 30_000 });
      await h.locator("button[data-action=run]").click();
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>(".r1h")?.dataset.records ?? 0) >= 2, null, { timeout: 120_000 });
      await page.evaluate(setHidden(true));
      await page.waitForSelector(".r1h[data-state=paused]", { timeout: 30_000 });
      assert.match((await h.locator(".r1h-status").textContent()) ?? "", /while the tab is hidden/);
      const n = Number(await h.getAttribute("data-records"));
      await page.waitForTimeout(1500);
      assert.equal(Number(await h.getAttribute("data-records")), n, "no steps while hidden");
      await page.evaluate(setHidden(false));
      await page.waitForSelector(".r1h[data-state=running]", { timeout: 30_000 });
      await page.waitForFunction((k) => Number(document.querySelector<HTMLElement>(".r1h")?.dataset.records ?? 0) > k, n, { timeout: 60_000 });

      await h.locator("input[name=keep-running-hidden]").check();
      await page.evaluate(setHidden(true));
      const m = Number(await h.getAttribute("data-records"));
      await page.waitForFunction((k) => Number(document.querySelector<HTMLElement>(".r1h")?.dataset.records ?? 0) > k, m, { timeout: 60_000 });
      assert.equal(await h.getAttribute("data-state"), "running", "kept running while hidden");
      await h.locator("button[data-action=reset]").click();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

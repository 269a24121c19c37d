// The site in a browser without WebGPU (navigator.gpu removed before any page script
// runs): the landing page says plainly what is missing, and the Engine lesson still
// runs, on the CPU engine.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("without WebGPU", () => {
  test("the landing page names what is missing, which browsers have it, and the CPU fallback", { timeout: 120_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/", { noWebGPU: true });
    try {
      assert.equal(await page.evaluate(() => "gpu" in navigator), false, "the init script removed navigator.gpu");
      const panel = page.locator(".r1-webgpu");
      await panel.waitFor({ timeout: 60_000 });
      assert.equal(await panel.getAttribute("data-webgpu"), "missing");
      const text = (await panel.textContent()) ?? "";
      assert.match(text, /navigator\.gpu is missing/);
      assert.match(text, /Chrome/);
      assert.match(text, /Safari/);
      assert.match(text, /CPU engine/);
      assert.match(text, /slower/);
      await page.waitForSelector(".r1-cost[data-measured=true]", { timeout: 90_000 });
      assert.match((await page.locator(".r1-cost").textContent()) ?? "", /CPU \(WebAssembly SIMD, float32\)/);
      await screenshot(page, "index-no-webgpu");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test("the Engine lesson still runs its checks and trains on the CPU engine", { timeout: 240_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/engine", { noWebGPU: true });
    try {
      await page.waitForSelector(".r1-parity[data-parity=pass], .r1-parity[data-parity=fail]", { timeout: 120_000 });
      assert.equal(await page.locator(".r1-parity").getAttribute("data-parity"), "pass");
      assert.match((await page.locator(".r1-parity").textContent()) ?? "", /WebGPU is not available/);
      await page.waitForSelector(".r1-gradcheck[data-gradcheck=pass]", { timeout: 120_000 });

      const h = page.locator(".r1h");
      const notice = (await h.locator(".r1h-alert").textContent()) ?? "";
      assert.match(notice, /WebGPU is not available in this browser/);
      assert.match(notice, /CPU engine/);
      await h.locator("select[name=preset]").selectOption("ci");
      await h.locator("button[data-action=run]").click();
      await page.waitForSelector(".r1h[data-state=done]", { timeout: 120_000 });
      assert.equal(await h.getAttribute("data-backend"), "cpu");
      assert.match((await h.locator(".r1h-engine").textContent()) ?? "", /CPU/);
      const points = Number(await h.locator(".r1v-linechart").first().getAttribute("data-points"));
      assert.ok(points >= 30, `loss chart received ${points} points`);
      await page.waitForSelector(".r1-bench[data-bench=done]", { timeout: 120_000 });
      await screenshot(page, "engine-no-webgpu");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

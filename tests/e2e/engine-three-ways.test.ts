// The Engine lesson's "one op, three engines": the WGSL, WebAssembly and TypeScript
// matrix products are shown side by side, and the Run button checks each against the
// reference, then times it, on this browser's engines (SwiftShader's WebGPU here).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("Engine lesson: one op, three engines", () => {
  test("the three sources are shown; Run checks and times all three, and they agree", { timeout: 180_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/engine");
    try {
      const panel = page.locator(".r1-three-ways");
      await panel.waitFor({ timeout: 60_000 });
      const code = (await panel.locator(".r1-three-code").textContent()) ?? "";
      assert.match(code, /fn main/, "the WGSL kernel");
      assert.match(code, /function microKernel/, "the WebAssembly micro-kernel");
      assert.match(code, /function dotKernel/, "the TypeScript reference");
      await panel.locator("select[name=three-ways-size]").selectOption("128");
      await panel.locator("button", { hasText: "Run the comparison" }).click();
      await page.waitForSelector(".r1-three-ways[data-state=done], .r1-three-ways[data-state=failed]", { timeout: 150_000 });
      assert.equal(await panel.getAttribute("data-state"), "done", (await panel.textContent()) ?? "");
      const rows = panel.locator("table tr");
      assert.equal(await rows.count(), 4, "a header and three engines");
      const table = (await panel.locator("table").textContent()) ?? "";
      for (const name of ["plain TypeScript", "WebAssembly SIMD", "WGSL on WebGPU"]) assert.match(table, new RegExp(name));
      assert.doesNotMatch(table, /NO/);
      await panel.scrollIntoViewIfNeeded();
      await screenshot(page, "engine-three-ways");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

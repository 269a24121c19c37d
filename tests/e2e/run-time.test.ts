// Every Run button says how long its run will take on the learner's engine before it
// starts: the harness times a few steps of the current settings in a throw-away
// worker and writes the estimate into the button and the line under it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openPage, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("time before Run", () => {
  // /rlhf: its minutes of set-up (pairs, reward model) are timed on a slice and scaled up
  for (const path of ["/engine", "/pretrain", "/rlhf"]) {
    test(`${path}: the Run button shows the expected time before it is pressed`, { timeout: 120_000 }, async () => {
      const { page, context, problems } = await openPage(site, path);
      try {
        const h = page.locator(".r1h").first();
        await h.waitFor();
        await page.waitForSelector(".r1h[data-eta=ready]", { timeout: 90_000 });
        assert.equal(await h.getAttribute("data-state"), "idle", "nothing has been run");
        const run = (await h.locator("button[data-action=run]").textContent()) ?? "";
        assert.match(run, /Run \(about \d+(\.\d)? (s|min|h)/);
        const line = (await h.locator(".r1h-eta").textContent()) ?? "";
        assert.match(line, /Expected: about .* on (the CPU engine|WebGPU) \([\d.]+ ms per step, timed over \d+ steps/);
        const seconds = Number(await h.getAttribute("data-eta-s"));
        assert.ok(seconds > 0, `estimate ${seconds} s`);
        // a long run says so before it starts
        assert.equal(await h.locator(".r1h-eta.r1h-long").count() > 0, seconds > 180, `long-run warning for ${seconds} s`);
        if (seconds > 180) assert.match(line, /A long run/);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }
});

// The distillation lesson in Chromium: the teacher's recorded samples are browsable by
// verdict, the distillation-vs-RL chart and the report card of the recorded default
// pipeline render from data/, and a ci run of the student fills the live answers panel.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SHOTS, openPage, screenshot, startSite, type Site } from "./helpers.js";

const ROOT = join(import.meta.dirname, "..", "..");
const results = JSON.parse(readFileSync(join(ROOT, "data/results/distill.json"), "utf8")) as { runs: { name: string; metrics: Record<string, number> }[] };

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

describe("distillation lesson", () => {
  test("samples by verdict, Table 6 and the report card from data/; a ci run trains the student live", { timeout: 300_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/distill");
    try {
      const h = page.locator(".r1h[data-job=distill]");
      await h.waitFor({ timeout: 30_000 });

      const browser = page.locator(".r1-distill-samples[data-recorded=yes]");
      await browser.waitFor({ timeout: 30_000 });
      for (const verdict of ["kept", "wrong"]) {
        await browser.locator("select[name=verdict]").selectOption(verdict);
        const verdicts = await browser.locator("tr[data-verdict]").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.verdict));
        assert.ok(verdicts.length > 0, `some ${verdict} samples at level 1`);
        assert.ok(verdicts.every((v) => v === verdict), `${verdict}: ${verdicts}`);
      }
      const levels = await browser.locator("select[name=level] option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      await browser.locator("select[name=level]").selectOption(levels.at(-1)!);
      await browser.locator("select[name=verdict]").selectOption("all");
      await browser.screenshot({ path: join(SHOTS, "distill-samples.png") });

      const t6 = page.locator(".r1-distill-table6[data-recorded=yes]");
      await t6.waitFor({ timeout: 10_000 });
      for (const run of results.runs) {
        const shown = await t6.locator(`[data-run='${run.name}'] .bar.distilled`).getAttribute("data-accuracy");
        assert.equal(Number(shown), run.metrics.student_distilled_heldout_accuracy, `${run.name}: the chart shows the recorded number`);
      }
      await t6.screenshot({ path: join(SHOTS, "distill-table6.png") });
      const card = page.locator(".r1-report-card[data-recorded=yes]");
      await card.waitFor({ timeout: 10_000 });
      assert.equal(await card.getAttribute("data-stages"), "9");
      assert.equal(await card.locator("tr[data-stage]").count(), 9);
      await card.screenshot({ path: join(SHOTS, "distill-report-card.png") });

      await h.locator("select[name=preset]").selectOption("ci");
      await h.locator("button[data-action=run]").click();
      await page.waitForSelector(".r1h[data-state=done], .r1h[data-state=error]", { timeout: 240_000 });
      if ((await h.getAttribute("data-state")) !== "done") assert.fail(`the run stopped: ${await h.locator(".r1h-alert").textContent()}`);
      assert.equal(await h.getAttribute("data-records"), "3");
      const live = page.locator(".r1-distill-answers[data-step='3']");
      await live.waitFor({ timeout: 30_000 });
      await live.screenshot({ path: join(SHOTS, "distill-answers.png") });
      await screenshot(page, "distill-ci-run");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

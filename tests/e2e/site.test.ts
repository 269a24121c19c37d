// The built site in Chromium with WebGPU (SwiftShader on a machine without a GPU):
// every page loads cleanly, math is typeset, the landing page finds an adapter, and
// the Engine lesson's live checks and training run work.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { Page } from "playwright";
import { builtPages, openPage, screenshot, shotName, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

/** Selectors that appear once a page's live content has finished (pages not listed only wait for the network). */
const READY: Record<string, readonly string[]> = {
  "/": [".r1-webgpu", ".r1-cost[data-measured]"],
  "/gallery": [".r1v-linechart[data-points]"],
  "/pretrain": [".r1-pt-attention[data-state=drawn]", ".r1-pt-size[data-params]"],
  "/mla": [".r1-mla-calc[data-state=ok]", ".r1-mla-results[data-recorded]"],
  "/moe": [".r1-moe-routing[data-step] .r1-moe-route", ".r1-moe-imbalance svg path"],
  "/engine": [".r1-parity[data-parity]:not([data-parity=running])", ".r1-gradcheck[data-gradcheck]:not([data-gradcheck=running])", ".r1-bench[data-bench=done]"],
};

/** Wait until the page's cells have run and its live checks have finished. */
async function settle(page: Page, path: string): Promise<void> {
  await page.waitForLoadState("networkidle");
  for (const sel of READY[path] ?? []) await page.waitForSelector(sel, { state: "attached", timeout: 120_000 }); // some sit in folded <details>
  await page.waitForFunction(
    () => ![...document.querySelectorAll<HTMLElement>("[data-parity],[data-gradcheck],[data-bench]")]
      .some((e) => Object.values(e.dataset).includes("running")),
    null, { timeout: 120_000 },
  );
}

describe("every page", () => {
  const pages = builtPages();
  test("the lesson pages were built", () => {
    assert.ok(pages.includes("/"), "index page");
    assert.ok(pages.includes("/engine"), "engine page");
  });
  for (const path of pages) {
    test(`${path} loads with no errors, typesets math, and is screenshotted`, { timeout: 180_000 }, async () => {
      const { page, context, problems } = await openPage(site, path);
      try {
        await settle(page, path);
        const katex = await page.locator(".katex").count();
        assert.ok(katex > 0, `${path}: no .katex elements`);
        const fontLoaded = await page.evaluate(async () => {
          await document.fonts.ready;
          return [...document.fonts].some((f) => f.family.replace(/"/g, "") === "KaTeX_Main" && f.status === "loaded");
        });
        assert.ok(fontLoaded, `${path}: KaTeX's fonts did not load (they are inlined in assets/katex.css)`);
        const unrendered = await page.locator(".katex-error").count();
        assert.equal(unrendered, 0, `${path}: KaTeX reported ${unrendered} errors`);
        const title = await page.title();
        assert.match(title, /R1 Lab/);
        const file = await screenshot(page, shotName(path));
        assert.ok(existsSync(file));
        assert.deepEqual(problems, [], `${path}: problems:\n${problems.join("\n")}`);
      } finally {
        await context.close();
      }
    });
  }
});

describe("landing page", () => {
  test("WebGPU panel reports an adapter, lessons and diagram link only to built pages, cost calculator measures", { timeout: 120_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/");
    try {
      const panel = page.locator(".r1-webgpu");
      await panel.waitFor({ timeout: 60_000 });
      assert.equal(await panel.getAttribute("data-webgpu"), "available");
      const adapter = (await page.locator(".r1-webgpu .r1-adapter").textContent()) ?? "";
      assert.ok(adapter.trim().length > 0, "adapter name");
      assert.ok((await page.locator(".r1-webgpu table tr").count()) >= 5, "limits table");

      const built = new Set(builtPages());
      const items = page.locator("ol.r1-lessons li");
      const n = await items.count();
      assert.equal(n, 9, "nine lessons in pipeline order");
      for (let i = 0; i < n; i++) {
        const li = items.nth(i);
        const slug = (await li.getAttribute("data-lesson"))!;
        const status = await li.getAttribute("data-status");
        assert.equal(status, built.has(`/${slug}`) ? "ready" : "coming", slug);
        assert.equal(await li.locator("a").count(), status === "ready" ? 1 : 0, `${slug}: link only when built`);
      }
      const ready = await page.locator("ol.r1-lessons li[data-status=ready]").count();
      const intro = (await page.locator("main p").first().textContent()) ?? "";
      assert.match(intro, n === ready ? /All 9 lessons are live: Engine, / : /\d of the 9 lessons are live today/, "the intro says which lessons are live");
      // the pipeline's report card is one click from the landing page (issue 14)
      assert.equal(await page.locator(".r1-report-link a[href='./distill#the-whole-recipe-a-report-card']").count(), built.has("/distill") ? 1 : 0);
      const links = await page.locator("svg.r1-pipeline a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
      for (const href of links) assert.ok(built.has(`/${href!.replace(/^\.\//, "")}`), `diagram links to a built page: ${href}`);
      assert.ok(links.includes("./engine"), "diagram links the Engine lesson");
      assert.equal(await page.locator("svg.r1-pipeline .r1-stage").count(), 12, "R1-Zero, V3-Base, R1's stages, distillation, test-time + MoE + MLA + engine");
      // each DeepSeek number sits in the box of the model it belongs to (issue 18: R1-Zero is not R1)
      // an SVG box's text is wrapped into tspans: join them with spaces
      const stageText = (id: string) => page.locator(`svg.r1-pipeline [data-stage=${id}]`)
        .evaluate((g) => [...g.querySelectorAll("tspan")].map((t) => t.textContent).join(" ").replace(/\s+/g, " "));
      assert.match(await stageText("r1-zero"), /R1-Zero: AIME 15\.6% → 71\.0% pass@1, 86\.7% cons@64/);
      assert.match(await stageText("rl-all"), /R1: AIME 79\.8% pass@1/);
      assert.match(await stageText("pretrain"), /V3-Base: 15\.6% on AIME/);
      assert.match(await stageText("resft"), /V3-Base \(not the RL model\), 2 epochs on the 800k/);
      assert.match(await stageText("distill"), /R1-Distill-Qwen-1\.5B: 28\.9% AIME/);
      for (const id of ["grpo", "rl-all", "sft"]) assert.doesNotMatch(await stageText(id), /71\.0|86\.7/, `${id} carries no R1-Zero number`);
      // the GRPO picture: advantages computed by src/rl/grpo.ts from the verifier's rewards
      assert.equal(await page.locator(".r1-grpo-group").getAttribute("data-advantages"), "1.225,0.000,0.000,-1.225");

      const cost = page.locator(".r1-cost");
      assert.match((await cost.locator(".big").first().textContent()) ?? "", /\$5\.576M/);
      await page.waitForSelector(".r1-cost[data-measured=true]", { timeout: 90_000 });
      await page.fill(".r1-cost input[name=price]", "3");
      assert.match((await cost.locator(".big").first().textContent()) ?? "", /\$8\.364M/);
      await page.fill(".r1-cost input[name=price]", "-5");
      assert.match((await cost.textContent()) ?? "", /price must be a number ≥ 0 \(got "-5"\)/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe("Engine lesson", () => {
  test("parity and gradient checks pass on WebGPU; a training run streams points to the charts", { timeout: 240_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/engine");
    try {
      await page.waitForSelector(".r1-parity[data-parity=pass], .r1-parity[data-parity=fail]", { timeout: 120_000 });
      const failed = await page.locator(".r1-parity tr[data-pass=false]").allTextContents();
      assert.deepEqual(failed, [], `parity failures: ${failed.join(" | ")}`);
      assert.equal(await page.locator(".r1-parity").getAttribute("data-parity"), "pass");
      assert.ok((await page.locator(".r1-parity tr[data-pass=true]").count()) >= 15, "at least 15 ops checked");
      assert.match((await page.locator(".r1-parity h3").textContent()) ?? "", /WebGPU/);
      await page.waitForSelector(".r1-gradcheck[data-gradcheck=pass]", { timeout: 120_000 });
      await page.waitForSelector(".r1-bench[data-bench=done]", { state: "attached", timeout: 120_000 }); // folded in a <details>
      assert.ok((await page.locator(".r1-bench table tr").count()) >= 4, "bench rows");

      const h = page.locator(".r1h");
      await h.locator("select[name=preset]").selectOption("ci");
      await h.locator("select[name=engine]").selectOption("webgpu"); // "auto" takes the CPU engine on SwiftShader
      await h.locator("button[data-action=run]").click();
      await page.waitForSelector(".r1h[data-state=done]", { timeout: 120_000 });
      assert.equal(await h.getAttribute("data-backend"), "webgpu");
      const steps = Number(await h.getAttribute("data-records"));
      assert.equal(steps, 30, "ci preset runs 30 steps");
      const points = await page.locator(".r1h .r1v-linechart").evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.points)));
      assert.ok(points[0]! >= 30, `loss chart received ${points[0]} points`);
      assert.ok(points.every((p) => p > 0), `every chart received points: ${points}`);
      assert.equal(await page.locator(".r1v-heatmap").first().getAttribute("data-step"), "30", "the decision boundary follows the run");
      assert.match((await page.locator(".r1-claims").textContent()) ?? "", /matches its CPU twin/);
      await screenshot(page, "engine-after-run");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test("engine auto: WebGPU on a GPU, the CPU engine on a software adapter, and the page says why", { timeout: 120_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/engine");
    try {
      const software = await page.evaluate(async () => {
        const a = await navigator.gpu.requestAdapter();
        const info = a?.info;
        return /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(`${info?.vendor} ${info?.architecture} ${info?.device} ${info?.description}`);
      });
      const h = page.locator(".r1h");
      await h.waitFor();
      assert.equal(await h.locator("select[name=engine]").inputValue(), "auto");
      await h.locator("button[data-action=step]").click();
      await page.waitForSelector(".r1h[data-state=paused]", { timeout: 60_000 });
      assert.equal(await h.getAttribute("data-backend"), software ? "cpu" : "webgpu");
      if (software) assert.match((await h.locator(".r1h-notice, .r1h-alert").allTextContents()).join(" "), /software one.*CPU engine is about 10× faster/);
      await h.locator("button[data-action=reset]").click();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test("the harness rejects bad values, pauses, steps and resets", { timeout: 180_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/engine");
    try {
      const h = page.locator(".r1h");
      await h.waitFor();
      const run = h.locator("button[data-action=run]");
      await h.locator("input[name=lr]").fill("abc");
      assert.match((await h.locator(".r1h-errors").textContent()) ?? "", /learning rate must be a number between/);
      assert.ok(await run.isDisabled(), "Run is disabled while an input is invalid");
      await h.locator("input[name=lr]").fill("-1");
      assert.match((await h.locator(".r1h-errors").textContent()) ?? "", /learning rate must be between .* \(got "-1"\)/);
      await h.locator("input[name=hidden]").fill("2.5");
      assert.match((await h.locator(".r1h-errors").textContent()) ?? "", /hidden width must be a whole number/);
      await h.locator("select[name=preset]").selectOption("default");
      // WebGPU on SwiftShader: slow enough that the run is still going when Pause is pressed
      await h.locator("select[name=engine]").selectOption("webgpu");
      assert.equal(((await h.locator(".r1h-errors").textContent()) ?? "").trim(), "");
      assert.ok(await run.isEnabled());

      // Step from idle: one record, then paused
      await h.locator("button[data-action=step]").click();
      await page.waitForSelector(".r1h[data-state=paused]", { timeout: 60_000 });
      assert.equal(await h.getAttribute("data-records"), "1");
      await h.locator("button[data-action=step]").click();
      await page.waitForFunction(() => document.querySelector<HTMLElement>(".r1h")?.dataset.records === "2", null, { timeout: 30_000 });
      assert.equal(await h.getAttribute("data-state"), "paused");
      assert.ok(await h.locator("input[name=lr]").isDisabled(), "inputs are locked during a run");
      // Resume, then Pause
      await run.click();
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>(".r1h")?.dataset.records) > 5, null, { timeout: 60_000 });
      await h.locator("button[data-action=pause]").click();
      await page.waitForSelector(".r1h[data-state=paused]", { timeout: 30_000 });
      const atPause = Number(await h.getAttribute("data-records"));
      await page.waitForTimeout(500);
      assert.equal(Number(await h.getAttribute("data-records")), atPause, "no records while paused");
      // Reset
      await h.locator("button[data-action=reset]").click();
      assert.equal(await h.getAttribute("data-state"), "idle");
      assert.equal(await h.getAttribute("data-records"), "0");
      assert.ok(await h.locator("input[name=lr]").isEnabled());
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test("a lost GPU device stops the run with a message and a working Restart button", { timeout: 180_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/engine");
    try {
      const h = page.locator(".r1h");
      await h.waitFor();
      await h.locator("select[name=engine]").selectOption("webgpu");
      await h.locator("button[data-action=run]").click();
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>(".r1h")?.dataset.records) > 3, null, { timeout: 60_000 });
      await page.evaluate(() => {
        const el = document.querySelector(".r1h") as HTMLElement & { harness?: { simulateDeviceLoss(): void } };
        el.harness!.simulateDeviceLoss();
      });
      await page.waitForSelector(".r1h[data-state=lost]", { timeout: 30_000 });
      const alert = h.locator(".r1h-alert");
      assert.match((await alert.textContent()) ?? "", /GPU device was lost/);
      await screenshot(page, "engine-device-lost");
      await alert.locator("button", { hasText: "Restart" }).click();
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>(".r1h")?.dataset.records) > 2, null, { timeout: 60_000 });
      assert.equal(await h.getAttribute("data-backend"), "webgpu");
      await h.locator("button[data-action=reset]").click();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe("Viz components page", () => {
  test("the line chart takes 30,000+ streamed points without stalling the page", { timeout: 120_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/gallery");
    try {
      await page.waitForFunction(() => /^[\d,]+ points in/.test(document.querySelector(".r1v-linechart + button + p")?.textContent ?? ""), null, { timeout: 30_000 });
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>(".r1v-linechart")?.dataset.points) >= 33_000, null, { timeout: 60_000 });
      const paths = await page.locator(".r1v-linechart svg path[stroke-opacity]").count();
      assert.ok(paths >= 3, "one path per series (plus smoothed)");
      // decimation: no path has more vertices than ~4 per pixel column
      const maxVertices = await page.locator(".r1v-linechart svg path[stroke-opacity]").evaluateAll(
        (ps) => Math.max(...ps.map((p) => (p.getAttribute("d") ?? "").split(/[ML]/).length)));
      assert.ok(maxVertices < 4 * 1280, `decimated path has ${maxVertices} vertices`);
      assert.ok((await page.locator(".r1v-heatmap canvas").count()) >= 2, "heatmaps drawn");
      assert.ok(Number(await page.locator(".r1v-tokenstrip").first().getAttribute("data-tokens")) > 10, "token strip drawn");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

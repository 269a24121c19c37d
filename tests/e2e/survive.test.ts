// Runs that survive (issue 17), in the browser:
// - reload the Pretrain page mid-run, resume the saved run, and its losses equal an
//   uninterrupted run's step by step, on the CPU engine and on WebGPU;
// - destroy the GPU device mid-run (WebGPU engine), and continue on the CPU engine
//   from the last checkpoint;
// - every lesson's harness inputs refuse bad values with a message beside the control,
//   Run stays disabled, and a good value brings Run back.
// The CPU engine finishes a ci run in about a second, so the tests never wait to catch
// a run in the middle: they take steps with the Step button (each pause saves the run).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright";
import { openPage, screenshot, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

interface Rec { step: number; loss: number; [k: string]: unknown }
const records = (page: Page) => page.evaluate(() =>
  (document.querySelector(".r1h") as HTMLElement & { harness: { records: Rec[] } }).harness.records.map(({ ms_per_step: _, ...r }) => r));
const attr = (page: Page, name: string) => page.evaluate((n) => document.querySelector<HTMLElement>(".r1h")?.dataset[n] ?? null, name);
const waitAttr = (page: Page, name: string, value: string, timeout = 60_000) =>
  page.waitForFunction(([n, v]) => document.querySelector<HTMLElement>(".r1h")?.dataset[n!] === v, [name, value], { timeout });
/** reloading stops the worker's requests on purpose */
const real = (problems: string[]) => problems.filter((p) => !/ERR_ABORTED/.test(p));

/** Step k times from idle: the run pauses (and is saved) after each step. */
async function stepTo(page: Page, k: number): Promise<void> {
  const h = page.locator(".r1h").first();
  for (let i = 1; i <= k; i++) {
    await h.locator("button[data-action=step]").click();
    await waitAttr(page, "savedStep", String(i));
  }
}

describe("a page run survives a reload", () => {
  // on both engines: WebGPU here is Chromium's SwiftShader adapter when the machine has no GPU
  for (const engine of ["cpu", "webgpu"] as const) test(`reload the Pretrain page mid-run, resume, and the losses equal an uninterrupted run's step by step (${engine})`, { timeout: 300_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/pretrain");
    try {
      const h = page.locator(".r1h").first();
      await h.waitFor({ timeout: 30_000 });
      await h.locator("select[name=preset]").selectOption("ci");
      await h.locator("select[name=engine]").selectOption(engine);
      await h.locator("button[data-action=run]").click();
      await waitAttr(page, "state", "done", 120_000);
      assert.equal(await attr(page, "backend"), engine);
      const whole = await records(page);
      assert.equal(whole.length, 20);
      await h.locator("button[data-action=reset]").click();

      await stepTo(page, 6);
      assert.equal(await attr(page, "records"), "6");
      await page.reload({ waitUntil: "load" });
      await h.waitFor({ timeout: 30_000 });
      const offer = h.locator(".r1h-alert", { hasText: "was saved at step 6 of 20" });
      await offer.waitFor({ timeout: 30_000 });
      await h.locator(".r1h-saved li").first().waitFor({ state: "attached" });
      assert.match((await h.locator(".r1h-saved").textContent()) ?? "", new RegExp(`step 6 of 20 · seed 1 · ${engine === "cpu" ? "CPU engine" : "WebGPU"} · [\\d.]+ (KB|MB)`));
      await screenshot(page, "pretrain-resume-offer");
      await offer.locator("button", { hasText: "Resume" }).click();
      await waitAttr(page, "state", "done", 120_000);
      const resumed = await records(page);
      assert.deepEqual(resumed.map((r) => r.step), whole.map((r) => r.step), "steps 1–6 redrawn from the save, 7–20 taken again");
      assert.equal(await attr(page, "backend"), engine, "resumed on the engine it was saved on");
      assert.deepEqual(resumed, whole, "every record (loss, grad_norm, lr, val_loss) equals the uninterrupted run's");
      assert.equal(await h.locator("select[name=preset]").inputValue(), "ci", "the saved settings are back in the form");
      // a finished run is not offered again
      await page.reload({ waitUntil: "load" });
      await h.waitFor({ timeout: 30_000 });
      await page.waitForTimeout(1000);
      assert.equal(await h.locator(".r1h-alert", { hasText: "was saved at step" }).count(), 0);
      assert.deepEqual(real(problems), []);
    } finally {
      await context.close();
    }
  });
});

describe("a lost GPU device", () => {
  test("destroying the device mid-run stops the run, and it continues on the CPU engine from the last checkpoint", { timeout: 400_000 }, async () => {
    const { page, context, problems } = await openPage(site, "/pretrain");
    try {
      const h = page.locator(".r1h").first();
      await h.waitFor({ timeout: 30_000 });
      await h.locator("select[name=preset]").selectOption("ci");
      await h.locator("input[name=steps]").fill("60");
      await h.locator("select[name=engine]").selectOption("webgpu");
      await stepTo(page, 3);
      assert.equal(await attr(page, "backend"), "webgpu");
      await h.locator("button[data-action=run]").click();
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>(".r1h")?.dataset.records) >= 5, null, { timeout: 120_000 });
      await page.evaluate(() => (document.querySelector(".r1h") as HTMLElement & { harness: { simulateDeviceLoss(): void } }).harness.simulateDeviceLoss());
      await waitAttr(page, "state", "lost", 30_000);
      const alert = h.locator(".r1h-alert");
      const text = (await alert.textContent()) ?? "";
      assert.match(text, /GPU device was lost/);
      const saved = Number(await attr(page, "savedStep"));
      assert.ok(saved >= 3, `a checkpoint exists (step ${saved})`);
      assert.match(text, new RegExp(`last checkpoint is step ${saved}`));
      await screenshot(page, "pretrain-device-lost");
      await alert.locator("button", { hasText: "Continue on the CPU engine" }).click();
      await waitAttr(page, "state", "done", 120_000);
      assert.equal(await attr(page, "backend"), "cpu");
      const steps = (await records(page)).map((r) => r.step);
      assert.deepEqual(steps, Array.from({ length: 60 }, (_, i) => i + 1), "steps 1…60 once each: the saved ones, then the rest on the CPU engine");
      assert.deepEqual(real(problems), []);
    } finally {
      await context.close();
    }
  });
});

const LESSONS = ["/engine", "/pretrain", "/sft", "/grpo", "/test-time", "/mla", "/moe", "/distill"];
const BAD = ["", "NaN", "-1", "1e12", "abc", "2.5e"];

describe("page inputs refuse bad values", () => {
  for (const path of LESSONS) {
    test(`${path}: every harness input refuses empty, NaN, negative, huge and non-numeric values beside the control`, { timeout: 180_000 }, async () => {
      const { page, context, problems } = await openPage(site, path);
      try {
        const h = page.locator(".r1h").first();
        await h.waitFor({ timeout: 30_000 });
        const run = h.locator("button[data-action=run]");
        assert.ok(await run.isEnabled(), "Run works with the preset's values");
        const names = await h.locator(".r1h-field input[type=text]").evaluateAll((els) => els.map((e) => (e as HTMLInputElement).name));
        assert.ok(names.length >= 2, `${path} has number inputs`);
        for (const name of names) {
          const input = h.locator(`input[name=${name}]`);
          const field = h.locator(`.r1h-field[data-param=${name}]`);
          const good = await input.inputValue();
          for (const bad of BAD) {
            await input.fill(bad);
            const message = (await field.locator(".r1h-field-error").textContent()) ?? "";
            assert.match(message, /must be/, `${name} = ${JSON.stringify(bad)}: a message beside the control`);
            assert.ok(await run.isDisabled(), `${name} = ${JSON.stringify(bad)}: Run is disabled`);
          }
          await input.fill(good);
          assert.equal((await field.locator(".r1h-field-error").textContent()) ?? "", "", `${name}: the message goes with a good value`);
          assert.ok(await run.isEnabled(), `${name}: Run is back with a good value`);
        }
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }
});

describe("prompt boxes refuse what the model cannot read", () => {
  test("Pretrain's attention prompt and MoE's routing prompt say why beside the box, and recover", { timeout: 180_000 }, async () => {
    for (const [path, box, note, good] of [
      ["/pretrain", "input[name=attention-prompt]", ".r1-pt-attention .r1-pt-error", "12+34=46."],
      ["/moe", "input[name=route-prompt]", ".r1-moe-routing", "12+34=46"],
    ] as const) {
      const { page, context, problems } = await openPage(site, path);
      try {
        const input = page.locator(box);
        await input.waitFor({ timeout: 60_000 });
        const said = () => page.evaluate((sel) => document.querySelector(sel)?.closest(".r1-panel")?.textContent ?? "", note);
        for (const bad of ["héllo €", "12+34=46\u0000", "😀"]) {
          await input.fill(bad);
          await page.waitForFunction((sel) => /unknown character|Could not route/.test(document.querySelector(sel)?.closest(".r1-panel")?.textContent ?? ""), note, { timeout: 20_000 });
        }
        await input.fill(good);
        await page.waitForFunction((sel) => !/unknown character|Could not route/.test(document.querySelector(sel)?.closest(".r1-panel")?.textContent ?? ""), note, { timeout: 20_000 });
        assert.doesNotMatch(await said(), /unknown character|Could not route/);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    }
  });
});

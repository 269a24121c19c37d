// The course pages on a laptop (1280 px) and a phone (390 px): nothing sticks out
// sideways. Wide pictures, tables and display formulas may scroll inside their own
// box (overflow-x: auto), but the page itself must not scroll horizontally.
// Screenshots of each page at each width go to screenshots/<page>-<width>.png.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openPage, screenshot, shotName, startSite, type Site } from "./helpers.js";

let site: Site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

const PAGES = ["/", "/engine", "/pretrain", "/moe", "/mla", "/sft", "/grpo", "/distill", "/test-time"] as const;

interface Measure { vw: number; scrollWidth: number; offenders: string[] }
// Runs in the page. A string, not a function: tsx would wrap a function's inner
// helpers in a __name() the page does not have.
const MEASURE = `(() => {
  const vw = document.documentElement.clientWidth;
  // elements that reach past the right edge without a scrolling (or clipping) box around them
  const insideScroller = (e) => {
    for (let p = e.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden") return true;
    }
    return false;
  };
  const offenders = [];
  for (const e of document.querySelectorAll("body *")) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1 || insideScroller(e)) continue;
    const cls = e.getAttribute("class") ?? "";
    offenders.push(e.tagName.toLowerCase() + (cls ? "." + cls.trim().split(/\\s+/).join(".") : "") + " right=" + Math.round(r.right));
  }
  return { vw, scrollWidth: document.documentElement.scrollWidth, offenders: offenders.slice(0, 12) };
})()`;
const WIDTHS = [390, 1280] as const;

describe("pages fit the screen", () => {
  for (const path of PAGES) {
    for (const width of WIDTHS) {
      test(`${path} at ${width} px has no horizontal overflow`, { timeout: 180_000 }, async () => {
        const { page, context, problems } = await openPage(site, path, { width });
        try {
          await page.waitForLoadState("networkidle");
          await page.waitForSelector(".katex", { timeout: 60_000 });
          await page.evaluate(() => document.fonts.ready);
          await page.waitForTimeout(1500); // late cells (charts, panels) lay themselves out
          const result = await page.evaluate<Measure>(MEASURE);
          await screenshot(page, shotName(path, String(width)));
          assert.ok(result.scrollWidth <= result.vw + 1,
            `${path} at ${width}px scrolls sideways (${result.scrollWidth} > ${result.vw}): ${result.offenders.join("; ")}`);
          assert.deepEqual(result.offenders, [], `${path} at ${width}px: elements past the right edge`);
          assert.deepEqual(problems, []);
        } finally {
          await context.close();
        }
      });
    }
  }
});

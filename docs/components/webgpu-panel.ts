// The "your WebGPU" panel: what probeWebGPU() found (adapter, features, limits), or a
// plain message saying what is missing, which browsers have WebGPU, and what still works.
import type { AdapterReport } from "../lib/gpu/device.js";
import { h } from "../lib/viz/dom.js";

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(n % 2 ** 30 ? 1 : 0)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(n % 2 ** 20 ? 1 : 0)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(n % 2 ** 10 ? 1 : 0)} KiB`;
  return `${n} B`;
}

const BROWSERS =
  "WebGPU ships in Chrome and Edge 113+ (Windows, macOS, ChromeOS, Android), Safari 26+ (macOS, iOS) and Firefox 141+ (Windows). " +
  "On Linux, Chrome and Chromium need the --enable-unsafe-webgpu flag (and a Vulkan driver).";

export function webgpuPanel(report: AdapterReport): HTMLElement {
  const panel = h("div", "r1-panel r1-webgpu");
  panel.dataset.webgpu = report.available ? "available" : "missing";
  panel.append(h("h3", undefined, "Your WebGPU"));
  if (!report.available) {
    const msg = h("div", "r1-message r1-error");
    const what = h("p");
    // the first sentence of the reason says what is missing; the browser list follows below
    const reason = (report.reason ?? "No WebGPU adapter was found.").split(/(?<=\.)\s+/)[0]!;
    what.append(h("strong", undefined, "WebGPU is not available here. "), reason);
    const which = h("p", undefined, BROWSERS);
    const still = h("p");
    still.append(
      h("strong", undefined, "Every lesson still runs: "),
      "it falls back to the CPU engine (the same code, in plain JavaScript), which is slower — expect runs to take several times longer, ",
      "and to use the smaller presets.",
    );
    msg.append(what, which, still);
    panel.append(msg);
    return panel;
  }
  const name = [report.vendor, report.architecture, report.device, report.description].filter(Boolean).join(" · ") || "unnamed adapter";
  const p = h("p");
  p.append(h("span", "r1-ok", "✓ WebGPU adapter: "), h("strong", "r1-adapter", name));
  panel.append(p);
  if (report.software) {
    panel.append(h("p", "r1-message",
      "This is a software adapter (it runs on the CPU, e.g. SwiftShader). The lessons train on the CPU engine instead (engine \"auto\"), which is about 10× faster here (bench/RESULTS.md); timings on either say nothing about a real GPU."));
  }
  const grid = h("div", "r1-twin");
  const left = h("div");
  left.append(h("h4", undefined, `Features (${report.features.length})`));
  const ul = h("ul", "r1-note");
  ul.style.columns = "2";
  ul.style.margin = "0";
  for (const f of report.features) ul.append(h("li", undefined, f));
  if (!report.features.length) ul.append(h("li", undefined, "none beyond the core"));
  left.append(ul);
  const right = h("div");
  right.append(h("h4", undefined, "Limits the engine reads"));
  const table = h("table", "r1-table");
  for (const [k, v] of Object.entries(report.limits)) {
    const tr = h("tr");
    tr.append(h("td", undefined, k), h("td", "num", /Size$|Alignment$/.test(k) ? bytes(v) : v.toLocaleString("en-US")));
    table.append(tr);
  }
  right.append(table);
  grid.append(left, right);
  // the details are for the curious: folded away, the adapter's name above says what matters
  const more = h("details", "r1-more");
  more.append(h("summary", undefined, `features and limits (${report.features.length} features, ${Object.keys(report.limits).length} limits)`), grid);
  panel.append(more);
  return panel;
}

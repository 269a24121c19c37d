// Shared set-up for the end-to-end tests: the built site (dist/) served on 127.0.0.1
// by a tiny static server, and Debian's Chromium driven by Playwright with WebGPU on
// (SwiftShader when the machine has no GPU).
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright";
import { serveStatic, type StaticServer } from "../../scripts/serve-built.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DIST = join(ROOT, "dist");
export const SHOTS = join(ROOT, "screenshots");

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--enable-unsafe-webgpu",
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export function builtPages(): string[] {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("dist/index.html is missing: run `npm run build` first (npm run test:e2e does)");
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) { if (!e.name.startsWith("_") && e.name !== "lib") walk(join(dir, e.name)); continue; }
      if (!e.name.endsWith(".html") || e.name === "404.html") continue;
      const rel = relative(DIST, join(dir, e.name)).replace(/\\/g, "/").replace(/\.html$/, "");
      out.push(rel === "index" ? "/" : `/${rel.replace(/\/index$/, "/")}`);
    }
  };
  walk(DIST);
  return out.sort();
}

export interface Site {
  server: StaticServer;
  browser: Browser;
  url(path: string): string;
  close(): Promise<void>;
}

export async function startSite(): Promise<Site> {
  builtPages();
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), or set CHROMIUM_PATH`);
  const server = await serveStatic(DIST, 0, "127.0.0.1");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  return {
    server,
    browser,
    url: (path) => server.url + path,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Make WebGPU unavailable in every page of the context (as in a browser without it). */
export const REMOVE_WEBGPU = `
  delete Object.getPrototypeOf(navigator).gpu;
  if ("gpu" in navigator) Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
  if (typeof WorkerNavigator !== "undefined") delete WorkerNavigator.prototype.gpu;
`;

export interface Watched {
  context: BrowserContext;
  page: Page;
  /** console errors, uncaught exceptions, failed requests and HTTP errors, in order */
  problems: string[];
}

export async function openPage(site: Site, path: string, opts: { noWebGPU?: boolean; width?: number } = {}): Promise<Watched> {
  const context = await site.browser.newContext({ viewport: { width: opts.width ?? 1280, height: 900 } });
  if (opts.noWebGPU) await context.addInitScript(REMOVE_WEBGPU);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? "?"})`));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  page.on("worker", (w) => {
    w.on("console", (m) => { if (m.type() === "error") problems.push(`worker console error: ${m.text()}`); });
  });
  await page.goto(site.url(path), { waitUntil: "load" });
  return { context, page, problems };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export function shotName(path: string, suffix = ""): string {
  const base = path === "/" ? "index" : path.replace(/^\/|\/$/g, "").replace(/[^\w-]+/g, "_");
  return suffix ? `${base}-${suffix}` : base;
}

// The Node side of the page: bundle bench/page-entry.ts (R1 Lab's engine, the peers'
// browser builds) with esbuild, serve it from 127.0.0.1 (WebGPU needs a secure
// context; loopback counts), and drive headless Chromium with Playwright.

import { build } from "esbuild";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, join } from "node:path";
import { chromium, type Browser } from "playwright";
import type { BrowserBenchOptions, BrowserBenchResult } from "./common.js";

export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** Flags that give a WebGPU adapter in headless Chromium, SwiftShader when there is no GPU. */
export const CHROMIUM_ARGS = [
  "--enable-unsafe-webgpu",
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export async function bundlePage(root: string): Promise<string> {
  const result = await build({
    entryPoints: [join(root, "bench/page-entry.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    // device.ts imports these only under Node, behind computed specifiers
    external: ["node:*", "webgpu"],
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "error",
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error("esbuild produced no output for bench/page-entry.ts");
  return out.text;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>R1 Lab benchmark</title></head>
<body><p>R1 Lab benchmark page</p><script type="module" src="/bench.js"></script></body></html>`;

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the page, the bundle and tfjs's wasm binaries on an ephemeral loopback port. */
export async function servePage(root: string, bundle: string, crossOriginIsolated = false): Promise<PageServer> {
  const wasmDir = join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist");
  // Cross-origin isolation gives the page SharedArrayBuffer, which tfjs-wasm needs for threads.
  const isolation: Record<string, string> = crossOriginIsolated
    ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" }
    : {};
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/" || path === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...isolation }).end(PAGE);
    } else if (path === "/bench.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", ...isolation }).end(bundle);
    } else if (path.startsWith("/wasm/") && path.endsWith(".wasm") && existsSync(join(wasmDir, basename(path)))) {
      res.writeHead(200, { "content-type": "application/wasm", ...isolation }).end(readFileSync(join(wasmDir, basename(path))));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface BrowserRun {
  result: BrowserBenchResult;
  browserVersion: string;
}

/**
 * Launch Chromium, open the page and run the benchmark in it. `executablePath`
 * null lets Playwright use its own browser (a learner's machine after
 * `npx playwright install chromium`).
 */
export async function runInChromium(
  root: string, opts: BrowserBenchOptions, executablePath: string | null, log: (line: string) => void,
  page: { headed?: boolean; crossOriginIsolated?: boolean } = {},
): Promise<BrowserRun> {
  const bundle = await bundlePage(root);
  const server = await servePage(root, bundle, page.crossOriginIsolated ?? false);
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({
      ...(executablePath ? { executablePath } : {}),
      headless: !page.headed,
      args: CHROMIUM_ARGS,
    });
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(e.message));
    tab.on("console", (m) => {
      const text = m.text();
      if (text.startsWith("[bench] ")) log(text.slice(8));
    });
    await tab.goto(server.url);
    await tab.waitForFunction(() => typeof window.runBrowserBench === "function", null, { timeout: 60_000 }).catch(() => {
      throw new Error(`the benchmark page did not load${errors.length ? `: ${errors.join("; ")}` : ""}`);
    });
    const result = await tab.evaluate(
      (o) => window.runBrowserBench(o, (s) => console.log(`[bench] ${s}`)),
      opts,
    );
    return { result, browserVersion: browser.version() };
  } finally {
    await browser?.close();
    await server.close();
  }
}

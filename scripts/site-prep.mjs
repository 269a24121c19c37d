// Prepares Observable Framework to build or preview the site with no network.
//
// 1. `docs/lib` must be a symlink to `../src`: pages import the real modules through
//    it (Framework rejects imports from outside its root, `docs/`, but follows the
//    link and transpiles the .ts files it reaches; `./lib/gpu/device.js` resolves to
//    `src/gpu/device.ts`). Recreated here if a checkout lost it.
// 2. `--clean` deletes Framework's cache (docs/.observablehq/cache) so a build never
//    reuses stale bundles or data-loader output.
// 3. Framework's own client bundle names ~40 npm packages it can load lazily (the
//    implicit `d3`, `Plot`, DuckDB, ... globals). To write their URLs it asks
//    registry.npmjs.org for the latest version, which fails offline, unless the
//    version is already in its cache (a directory `_npm/<name>@<version>`). We
//    seed those directories: with the version installed in node_modules when there
//    is one, else a placeholder. The site never loads these (pages import d3 and
//    katex by bare name, bundled from node_modules), so the placeholder is harmless.
// 4. `--prune` (after a build) deletes dist/lib, dist/bench, dist/src and dist/kernels: Framework turns every .md file it can
//    reach into a page, including notes such as src/gpu/README.md seen through the
//    symlink. Those are developer notes, not lessons; the build keeps only docs/ pages.
//    (Modules and files the pages use are written to dist/_import and dist/_file.)
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const docs = join(root, "docs");
const cache = join(docs, ".observablehq", "cache");

// The symlinks under docs/: lib (the library for the pages), bench (the Engine lesson
// runs bench/browser.ts in the page), src (bench/ imports ../src/..., which from
// docs/bench must resolve to docs/src) and kernels (the Engine lesson shows the
// WebAssembly kernels' source, kernels/wasm/*.ts, as file attachments).
const LINKS = [["lib", "../src"], ["bench", "../bench"], ["src", "../src"], ["kernels", "../kernels"]];

if (process.argv.includes("--prune")) {
  for (const [name] of LINKS) {
    const stray = join(root, "dist", name);
    if (existsSync(stray)) {
      rmSync(stray, { recursive: true, force: true });
      console.log(`site-prep: removed dist/${name} (pages built from .md notes under ${name}/, which are not lessons)`);
    }
  }
  process.exit(0);
}

// 1. the symlinks
for (const [name, target] of LINKS) {
  const link = join(docs, name);
  let isLink = false;
  try { isLink = lstatSync(link).isSymbolicLink(); } catch { /* missing */ }
  if (!isLink) {
    if (existsSync(link)) throw new Error(`docs/${name} exists but is not a symlink to ${target}; remove it and re-run`);
    symlinkSync(target, link, "dir");
    console.log(`site-prep: created docs/${name} -> ${target}`);
  }
}

// 2. the cache
if (process.argv.includes("--clean")) {
  rmSync(cache, { recursive: true, force: true });
}

// 3. npm version cache for the packages Framework's client references
const PACKAGES = [
  "@duckdb/duckdb-wasm", "@observablehq/duckdb", "@observablehq/inputs", "@observablehq/plot",
  "@observablehq/sample-datasets", "@uwdata/vgplot", "@viz-js/viz", "apache-arrow", "arquero",
  "d3", "d3-dsv", "echarts", "exceljs", "htl", "jszip", "katex", "leaflet", "lodash", "mapbox-gl",
  "mermaid", "parquet-wasm", "react", "react-dom", "sql.js", "topojson-client", "vega",
  "vega-lite", "vega-lite-api",
];
const npmCache = join(cache, "_npm");
const seeded = new Set(existsSync(npmCache) ? listVersions(npmCache) : []);
for (const name of PACKAGES) {
  if ([...seeded].some((s) => s.startsWith(`${name}@`))) continue;
  let version = "0.0.0-offline";
  const pkg = join(root, "node_modules", name, "package.json");
  if (existsSync(pkg)) version = JSON.parse(readFileSync(pkg, "utf8")).version;
  mkdirSync(join(npmCache, `${name}@${version}`), { recursive: true });
}

// 5. npm packages Framework 1.13's bundler gets wrong, bundled by us with esbuild into
//    the file Framework looks for first in docs/.observablehq/cache/_node/ (it then
//    uses ours). Dev dependencies of the Engine lesson's benchmark; skipped when absent.
//    - jax-js loads its WebGPU and WebGL backends with import("./webgpu-….js"); Framework
//      writes only the first rollup chunk, so the others are missing. esbuild inlines them.
//    - tfjs-backend-wasm's Emscripten glue calls require("fs") etc.; Framework leaves a
//      bare `import "fs"` in the browser bundle. esbuild honours the package's "browser"
//      field (fs: false). Its peers stay shared: they are imported from Framework's own
//      bundles of tfjs-core and tfjs-backend-cpu (paths relative to this file).
const SINGLE_FILE = [
  { name: "@jax-js/jax", external: {} },
  { name: "@tensorflow/tfjs-backend-wasm", external: {
    "@tensorflow/tfjs-core": ["@tensorflow/tfjs-core", "index.js"],
    "@tensorflow/tfjs-backend-cpu/dist/shared": ["@tensorflow/tfjs-backend-cpu", "dist/shared.js"],
  } },
];
const versionOf = (name) => {
  const pkgJson = join(root, "node_modules", name, "package.json");
  return existsSync(pkgJson) ? JSON.parse(readFileSync(pkgJson, "utf8")).version : null;
};
for (const { name, external } of SINGLE_FILE) {
  const version = versionOf(name);
  if (!version) continue;
  const dir = join(cache, "_node", `${name}@${version}`);
  const out = join(dir, "index.js");
  if (existsSync(out)) continue;
  const paths = {};
  for (const [spec, [pkg, file]] of Object.entries(external)) {
    paths[spec] = relative(dir, join(cache, "_node", `${pkg}@${versionOf(pkg)}`, file)).replace(/\\/g, "/");
  }
  const esbuild = await import("esbuild");
  await esbuild.build({
    stdin: { contents: `export * from ${JSON.stringify(name)};`, resolveDir: root, loader: "js" },
    bundle: true, format: "esm", platform: "browser", target: "es2022", minify: true, outfile: out, logLevel: "error",
    plugins: [{
      name: "framework-node-externals",
      setup(b) {
        b.onResolve({ filter: /^@tensorflow\// }, (a) => (a.path in paths ? { path: paths[a.path], external: true } : undefined));
      },
    }],
  });
  console.log(`site-prep: bundled ${name}@${version} into one file for Framework`);
}

function listVersions(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith("@")) for (const sub of readdirSync(join(dir, entry))) out.push(`${entry}/${sub}`);
    else out.push(entry);
  }
  return out;
}

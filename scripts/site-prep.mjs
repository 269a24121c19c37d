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
// 4. `--prune` (after a build) deletes dist/lib: Framework turns every .md file it can
//    reach into a page, including notes such as src/gpu/README.md seen through the
//    symlink. Those are developer notes, not lessons; the build keeps only docs/ pages.
//    (Modules and files the pages use are written to dist/_import and dist/_file.)
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const docs = join(root, "docs");
const cache = join(docs, ".observablehq", "cache");

if (process.argv.includes("--prune")) {
  const stray = join(root, "dist", "lib");
  if (existsSync(stray)) {
    rmSync(stray, { recursive: true, force: true });
    console.log("site-prep: removed dist/lib (pages built from .md files under src/, which are not lessons)");
  }
  process.exit(0);
}

// 1. the symlink
const link = join(docs, "lib");
let isLink = false;
try { isLink = lstatSync(link).isSymbolicLink(); } catch { /* missing */ }
if (!isLink) {
  if (existsSync(link)) throw new Error("docs/lib exists but is not a symlink to ../src; remove it and re-run");
  symlinkSync("../src", link, "dir");
  console.log("site-prep: created docs/lib -> ../src");
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

function listVersions(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith("@")) for (const sub of readdirSync(join(dir, entry))) out.push(`${entry}/${sub}`);
    else out.push(entry);
  }
  return out;
}

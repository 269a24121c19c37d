// Data loader: KaTeX's stylesheet with its fonts inlined, so math renders offline
// with no CDN and no loose font files to copy. Reads the katex package installed
// in node_modules (the same version the pages' `tex` helper bundles) and embeds
// each font's .woff2 as a data: URL (every browser with WebGPU reads woff2); the
// .woff/.ttf fallbacks are dropped.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const dist = join(dirname(require.resolve("katex/package.json")), "dist");
let css = readFileSync(join(dist, "katex.min.css"), "utf8");
let fonts = 0;
css = css.replace(/src:url\(fonts\/([\w-]+)\.woff2\) format\("woff2"\)(?:,url\([^)]*\) format\("[^"]*"\))*/g, (_, name) => {
  fonts++;
  const data = readFileSync(join(dist, "fonts", `${name}.woff2`)).toString("base64");
  return `src:url(data:font/woff2;base64,${data}) format("woff2")`;
});
if (fonts < 10 || /url\(fonts\//.test(css)) {
  throw new Error(`katex.css loader: expected every @font-face to use fonts/*.woff2, inlined ${fonts}; KaTeX's CSS changed shape`);
}
process.stdout.write(`/* KaTeX ${JSON.parse(readFileSync(join(dist, "..", "package.json"), "utf8")).version}, fonts inlined (${fonts}) */\n` + css);

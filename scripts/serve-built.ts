// A tiny static server for the built site (dist/), with no dependencies.
//
//   npx tsx scripts/serve-built.ts [--dir dist] [--port 3000] [--host 127.0.0.1]
//
// Serve from http://127.0.0.1 (or localhost): WebGPU needs a secure context, and
// plain-http loopback addresses count as one. Framework writes "clean" links
// (/engine for engine.html), which this server maps back to the file.
import { createServer, type Server } from "node:http";
import { createReadStream, existsSync, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".wgsl": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".safetensors": "application/octet-stream",
};

export interface StaticServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Map a URL path to a file under dir, or null (404). */
export function resolveFile(dir: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split("?")[0]!.split("#")[0]!);
  } catch {
    return null;
  }
  const base = resolve(dir);
  const full = normalize(join(base, path));
  if (full !== base && !full.startsWith(base + sep)) return null; // no escaping the root
  const candidates = [full];
  if (path.endsWith("/")) candidates.push(join(full, "index.html"));
  else candidates.push(`${full}.html`, join(full, "index.html"));
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  return null;
}

export function serveStatic(dir: string, port = 0, host = "127.0.0.1"): Promise<StaticServer> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    const file = resolveFile(dir, req.url ?? "/");
    if (!file) {
      const notFound = resolveFile(dir, "/404.html");
      res.writeHead(404, { "content-type": "text/html; charset=utf-8" });
      if (notFound && req.method === "GET") createReadStream(notFound).pipe(res);
      else res.end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
      "content-length": statSync(file).size,
      "cache-control": "no-cache",
    });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const addr = server.address();
      const p = typeof addr === "object" && addr ? addr.port : port;
      ok({
        server,
        url: `http://${host}:${p}`,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

// ---- command line -------------------------------------------------------------
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
  };
  const dir = arg("dir", "dist");
  const port = Number(arg("port", "3000"));
  const host = arg("host", "127.0.0.1");
  if (!existsSync(join(dir, "index.html"))) {
    console.error(`serve-built: ${dir}/index.html is missing; run \`npm run build\` first`);
    process.exit(1);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve-built: --port must be an integer in 0..65535, got ${arg("port", "")}`);
    process.exit(1);
  }
  const s = await serveStatic(dir, port, host);
  console.log(`R1 Lab is served at ${s.url}/  (Ctrl-C to stop)`);
}

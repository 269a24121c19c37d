#!/usr/bin/env node
// The r1-lab command. The library is TypeScript; tsx compiles it on the fly so the
// CLI always runs the code you see in src/ (no separate build step to forget).
import { register } from "tsx/esm/api";
register();
// `r1-lab info | head`: the reader may close the pipe early; that is not an error.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));

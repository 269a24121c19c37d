// `node --import tsx bench/cli.ts [flags]`: the same as `r1-lab bench [flags]`.
import { bench } from "../src/cli/bench.js";
import { UsageError } from "../src/cli/args.js";

try {
  process.exitCode = await bench(process.argv.slice(2), (s) => console.log(s));
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
}

// Training runs that survive Ctrl-C: the first SIGINT or SIGTERM asks the loop to stop
// after the step it is taking and save a checkpoint, so `--resume DIR` continues with
// nothing lost; a second signal quits at once (as a terminal user expects).
//
// On resume the run's metrics.jsonl is cut back to the checkpoint's step, so lines
// written after the last checkpoint (by a run that was killed outright) are not
// duplicated when those steps are taken again.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "./args.js";

export interface Interrupt {
  /** a signal arrived: stop after this step and save */
  readonly requested: boolean;
  /** which signal, for the message */
  readonly signal: string | null;
  /** remove the handlers (the run is over) */
  dispose(): void;
}

export function watchInterrupt(): Interrupt {
  let signal: string | null = null;
  const onSignal = (name: NodeJS.Signals) => {
    if (signal) process.exit(130); // the second one: quit now
    signal = name;
    process.stderr.write(`\n${name}: finishing this step and saving a checkpoint (press again to quit at once)\n`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    get requested() { return signal !== null; },
    get signal() { return signal; },
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** Keep the lines of dir/metrics.jsonl for steps before `step` (the checkpoint's); returns how many were dropped. */
export async function trimMetrics(dir: string, step: number): Promise<number> {
  const path = join(dir, "metrics.jsonl");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return 0;
  }
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const kept = lines.filter((l) => {
    try {
      return (JSON.parse(l) as { step?: number }).step! < step;
    } catch {
      return false; // a line cut short by the kill
    }
  });
  if (kept.length !== lines.length) await writeFile(path, kept.map((l) => l + "\n").join(""));
  return lines.length - kept.length;
}

/** --resume DIR is --from DIR --out DIR: continue the run in DIR, writing to it. */
export function runDirs(values: { from?: string; out?: string; resume?: string }): { from?: string; out?: string } {
  const dir = values.resume;
  if (dir === undefined) return { from: values.from, out: values.out };
  for (const flag of ["from", "out"] as const) {
    const v = values[flag];
    if (v !== undefined && v !== dir) throw new UsageError(`--resume ${dir} continues the run in ${dir}; --${flag} ${v} contradicts it`);
  }
  return { from: dir, out: dir };
}

/** What a run stopped by a signal prints, and its exit code (128 + SIGINT's 2, as shells report it). */
export function interruptedExit(signal: string | null, step: number, out: string, print: (s: string) => void): number {
  print(`stopped by ${signal ?? "a signal"} after step ${step}, checkpoint saved; continue with --resume ${out}`);
  return 130;
}

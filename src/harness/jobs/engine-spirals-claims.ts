// What the Engine page says its spirals runs show, each sentence beside the check
// that decides whether it is true. The page prints `text`; the unit test
// tests/unit/engine-spirals-claims.test.ts runs every preset a claim names, on the
// CPU engine, and asserts `check`. A caption that stops being true fails the test.
//
// Numbers in the texts were measured with that test's runs (seed 1, CPU engine);
// the checks assert the shape of the claim with some room, not the exact figure.
import type { MetricRecord } from "../jobs.js";

/** the records of each preset a claim needs, by preset name */
export type Runs = Readonly<Record<string, readonly MetricRecord[]>>;

export interface RunClaim {
  /** a short key (data-claim on the page, the test's name) */
  key: string;
  /** the preset the page's button loads for this claim */
  preset: string;
  /** every preset whose run the check reads */
  needs: readonly string[];
  /** the sentence on the page */
  text: string;
  /** whether the runs bear the sentence out, and what was measured */
  check(runs: Runs): { holds: boolean; measured: string };
}

/** the record's accuracy, or NaN on steps that did not measure it */
export function accuracyOf(r: MetricRecord): number {
  const a = r["accuracy"];
  return typeof a === "number" ? a : NaN;
}

/** the first step whose accuracy reached `level`, or null if none did */
export function firstStepAt(records: readonly MetricRecord[], level: number): number | null {
  return records.find((r) => accuracyOf(r) >= level)?.step ?? null;
}

export function finalAccuracy(records: readonly MetricRecord[]): number {
  const r = [...records].reverse().find((x) => Number.isFinite(accuracyOf(x)));
  return r ? accuracyOf(r) : NaN;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const run = (runs: Runs, name: string): readonly MetricRecord[] => {
  const r = runs[name];
  if (!r || r.length === 0) throw new Error(`the claim needs the "${name}" run`);
  return r;
};

/** "What to notice" under the default run. */
export const SPIRALS_NOTICE: readonly RunClaim[] = [
  {
    key: "default-slow-start",
    preset: "default",
    needs: ["default"],
    text:
      "Accuracy starts near 50% and the loss near ln 2 ≈ 0.69 nats: both are a coin flip's. For the first fifty steps " +
      "accuracy stays below 70%; then the network bends its boundary around the arms, and accuracy passes 90% " +
      "(at step 140 in our run) and ends above 95%.",
    check(runs) {
      const r = run(runs, "default");
      const start = accuracyOf(r[0]!);
      const loss0 = r[0]!.loss;
      const at50 = accuracyOf(r.find((x) => x.step === 50) ?? r[0]!);
      const at90 = firstStepAt(r, 0.9);
      const end = finalAccuracy(r);
      const holds = start >= 0.35 && start <= 0.65 && Math.abs(loss0 - Math.LN2) < 0.15 && at50 < 0.7 &&
        at90 !== null && at90 >= 60 && at90 <= 250 && end > 0.95;
      return {
        holds,
        measured: `accuracy ${pct(start)} and loss ${loss0.toFixed(3)} at step 1, ${pct(at50)} at step 50, 90% first at step ${at90 ?? "never"}, ${pct(end)} at the end`,
      };
    },
  },
];

/** The experiments: each loads a preset; the sentence says what its run shows. */
export const SPIRALS_EXPERIMENTS: readonly RunClaim[] = [
  {
    key: "lr-too-high",
    preset: "lr too high",
    needs: ["lr too high"],
    text:
      "A learning rate of 0.8, forty times the default: each step overshoots, the loss climbs far above where it started " +
      "(past 5 nats) instead of falling, and accuracy stays at a coin flip.",
    check(runs) {
      const r = run(runs, "lr too high");
      const first = r[0]!.loss;
      const peak = Math.max(...r.map((x) => x.loss));
      const end = finalAccuracy(r);
      return { holds: peak > 3 * first && end <= 0.6, measured: `loss ${first.toFixed(2)} at step 1, peak ${peak.toFixed(2)}; final accuracy ${pct(end)}` };
    },
  },
  {
    key: "too-narrow",
    preset: "too narrow",
    needs: ["too narrow", "default"],
    text:
      "Three hidden units per layer are too few to follow one and a half turns: after 400 steps the loss is still near 0.5 " +
      "and accuracy below 80%, where the default 32 units pass 95%.",
    check(runs) {
      const r = run(runs, "too narrow");
      const loss = r[r.length - 1]!.loss;
      const acc = finalAccuracy(r);
      const wide = finalAccuracy(run(runs, "default"));
      return { holds: loss > 0.3 && acc < 0.8 && wide > 0.95, measured: `final loss ${loss.toFixed(3)}, accuracy ${pct(acc)}; default ${pct(wide)}` };
    },
  },
  {
    key: "one-layer",
    preset: "one layer",
    needs: ["one layer", "default"],
    text:
      "One hidden layer of 32 learns, but more slowly than two: it is still below 90% accuracy after 400 steps, " +
      "a level two layers pass at step 140.",
    check(runs) {
      const one = run(runs, "one layer");
      const two = run(runs, "default");
      const oneAt = firstStepAt(one, 0.9);
      const twoAt = firstStepAt(two, 0.9);
      const holds = twoAt !== null && oneAt === null && finalAccuracy(one) < finalAccuracy(two);
      return { holds, measured: `90% first at step ${oneAt ?? "never"} with one layer, ${twoAt ?? "never"} with two; final ${pct(finalAccuracy(one))} vs ${pct(finalAccuracy(two))}` };
    },
  },
  {
    key: "relu",
    preset: "relu",
    needs: ["relu", "default"],
    text:
      "ReLU instead of tanh: a boundary made of straight pieces (a ReLU network is piecewise linear), and on this data it " +
      "learns faster — 90% accuracy by step 50, where tanh needs 140.",
    check(runs) {
      const reluAt = firstStepAt(run(runs, "relu"), 0.9);
      const tanhAt = firstStepAt(run(runs, "default"), 0.9);
      const holds = reluAt !== null && tanhAt !== null && reluAt < tanhAt;
      return { holds, measured: `90% first at step ${reluAt ?? "never"} with ReLU, ${tanhAt ?? "never"} with tanh` };
    },
  },
];

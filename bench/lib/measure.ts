// How every measurement of the benchmark is checked and timed, whatever the engine:
// products are checked against float64 reference entries (and against the first
// library's product) before they are timed; training steps are checked by comparing
// their first losses and gradient norms with the first stepper's. Libraries are then
// timed interleaved, sample by sample, so a change in the machine's load hits them all.

import {
  type Check, type MatmulCase, type Reps, checkAgainstReference, compareTrajectories, matmulFlops, maxAbsDiff,
  median, productsPerSample, referenceSamples, uniformValues, wantAnotherRound,
} from "./common.js";
import type { MatmulRunner } from "./matmul-runners.js";

export type Log = (line: string) => void;

export const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** the same A and B for every library (reproducible), and float64 reference entries of A·B */
export function caseData(c: MatmulCase): { a: Float32Array; b: Float32Array; ref: ReturnType<typeof referenceSamples> } {
  const a = uniformValues(c.m * c.k, 1 + c.m + c.k);
  const b = uniformValues(c.k * c.n, 2 + c.n);
  return { a, b, ref: referenceSamples(c, a, b) };
}

/**
 * Check each runner's product (vs float64, and vs the first runner's product), then
 * time the ones that pass. Returns GFLOP/s by runner name (failed runners are absent).
 * Disposes the runners.
 */
export async function checkAndTimeProducts(
  c: MatmulCase, ref: ReturnType<typeof referenceSamples>, runners: MatmulRunner[], timing: Reps,
  checks: Check[], label: string,
): Promise<{ gflops: Map<string, number>; per: number; samples: number }> {
  const timed: MatmulRunner[] = [];
  let firstOut: Float32Array | null = null;
  for (const r of runners) {
    let out: Float32Array;
    try {
      out = await r.result();
    } catch (e) {
      checks.push({ name: `${label} ${c.label} ${r.name}`, ok: false, detail: `failed to run: ${msg(e)}` });
      continue;
    }
    const vsRef = checkAgainstReference(out, ref);
    let detail = `max error vs float64 ${vsRef.worst.toExponential(1)} (relative to Σ|a·b|)`;
    let ok = vsRef.ok;
    if (r === runners[0]) firstOut = out;
    else if (firstOut) {
      const d = maxAbsDiff(out, firstOut);
      detail += `, max |Δ| vs ${runners[0]!.name} ${d.toExponential(1)}`;
      ok &&= d <= 1e-5 * c.k;
    }
    checks.push({ name: `${label} ${c.label} ${r.name}`, ok, detail });
    if (ok) timed.push(r);
  }
  const per = productsPerSample(c);
  const samples = new Map<MatmulRunner, number[]>(timed.map((r) => [r, []]));
  for (let w = 0; w < timing.warmup; w++) for (const r of timed) await r.sample(per);
  const start = performance.now();
  for (let round = 0; timed.length > 0 && wantAnotherRound(timing, round, performance.now() - start); round++) {
    for (const r of timed) {
      const t0 = performance.now();
      await r.sample(per);
      samples.get(r)!.push(performance.now() - t0);
    }
  }
  const gflops = new Map<string, number>();
  for (const r of timed) gflops.set(r.name, (per * matmulFlops(c)) / (median(samples.get(r)!) * 1e6));
  for (const r of runners) r.dispose();
  return { gflops, per, samples: timed.length ? samples.get(timed[0]!)!.length : 0 };
}

export interface Stepper {
  name: string;
  step(): Promise<{ loss: number; gradNorm: number }>;
}

/** the check steps of every stepper (compared with the first), then warm-up, then interleaved timing */
export async function timeSteps(
  steppers: Stepper[], checkSteps: number, timing: Reps, checks: Check[], label: string, log: Log,
  around?: { before(s: Stepper): void; after(s: Stepper): void },
): Promise<Map<string, number[]>> {
  const traj = new Map<string, { loss: number; gradNorm: number }[]>();
  const alive: Stepper[] = [];
  for (const s of steppers) {
    const t: { loss: number; gradNorm: number }[] = [];
    try {
      for (let i = 0; i < checkSteps; i++) t.push(await s.step());
    } catch (e) {
      checks.push({ name: `${label} ${s.name}`, ok: false, detail: `failed to run: ${msg(e)}` });
      continue;
    }
    traj.set(s.name, t);
    const first = traj.get(steppers[0]!.name);
    if (s === steppers[0] || !first) {
      const ok = t.every((x) => Number.isFinite(x.loss) && Number.isFinite(x.gradNorm));
      checks.push({ name: `${label} ${s.name}`, ok, detail: `losses ${t.map((x) => x.loss.toFixed(5)).join(", ")}` });
      if (ok) alive.push(s);
    } else {
      const cmp = compareTrajectories(first, t);
      checks.push({
        name: `${label} ${s.name} vs ${steppers[0]!.name}`,
        ok: cmp.ok,
        detail: `first ${checkSteps} steps: max |Δloss| ${cmp.lossDiff.toExponential(1)}, max relative Δ‖g‖ ${cmp.gradNormRel.toExponential(1)}`,
      });
      if (cmp.ok) alive.push(s);
    }
    log(`${label} ${s.name}: losses ${t.map((x) => x.loss.toFixed(4)).join(", ")}`);
  }
  for (let w = 0; w < timing.warmup; w++) for (const s of alive) await s.step();
  const times = new Map<string, number[]>(alive.map((s) => [s.name, []]));
  const start = performance.now();
  for (let round = 0; alive.length > 0 && wantAnotherRound(timing, round, performance.now() - start); round++) {
    for (const s of alive) {
      around?.before(s);
      const t0 = performance.now();
      await s.step();
      times.get(s.name)!.push(performance.now() - t0);
      around?.after(s);
    }
  }
  for (const [name, ts] of times) log(`${label} ${name}: median ${median(ts).toFixed(1)} ms over ${ts.length} steps`);
  return times;
}

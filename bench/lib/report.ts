// Turning a run into the JSON file and the printed table, and judging the issue's
// targets. Pure functions: the unit test checks them without a browser.

import type { BenchJson, MatmulRow, Reps } from "./common.js";

/** The keys the issue fixes; checked by the test and by validateBenchJson. */
export const REQUIRED_SHAPE = {
  matmul: ["n", "r1lab_gflops", "tfjs_gflops", "jax_gflops"],
  train_step: ["r1lab_ms", "tfjs_ms", "r1lab_cpu_ms", "tfjs_wasm_ms"],
  per_step: ["dispatches", "submits", "readbacks"],
} as const;

/** Problems with a parsed JSON file's shape (empty when it matches the issue's). */
export function validateBenchJson(j: unknown): string[] {
  const problems: string[] = [];
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  const numOrNull = (x: unknown) => x === null || (typeof x === "number" && Number.isFinite(x));
  if (!isObj(j)) return ["not an object"];
  if (!isObj(j.adapter)) problems.push("adapter: not an object");
  if (!Array.isArray(j.matmul) || j.matmul.length === 0) problems.push("matmul: not a non-empty array");
  else {
    j.matmul.forEach((row: unknown, i) => {
      if (!isObj(row)) return problems.push(`matmul[${i}]: not an object`);
      for (const k of REQUIRED_SHAPE.matmul) {
        if (!(k in row)) problems.push(`matmul[${i}].${k}: missing`);
        else if (k === "n" ? !(typeof row[k] === "number" && Number.isInteger(row[k])) : !numOrNull(row[k])) problems.push(`matmul[${i}].${k}: not a number or null`);
      }
    });
  }
  for (const part of ["train_step", "per_step"] as const) {
    const o = j[part];
    if (!isObj(o)) {
      problems.push(`${part}: not an object`);
      continue;
    }
    for (const k of REQUIRED_SHAPE[part]) {
      if (!(k in o)) problems.push(`${part}.${k}: missing`);
      else if (!numOrNull(o[k])) problems.push(`${part}.${k}: not a number or null`);
    }
  }
  return problems;
}

export interface TargetVerdict {
  target: string;
  met: boolean | null;
  detail: string;
}

const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);

/** The issue's three targets, judged on this run (null: could not be judged). */
export function judgeTargets(j: BenchJson): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  // 1. matmul ≥ the faster peer at every square size ≥ 256
  const rows = j.matmul.filter((r) => r.m === r.n && r.k === r.n && r.n >= 256 && r.trans === "");
  const misses: string[] = [];
  let judged = 0;
  for (const r of rows) {
    const best = Math.max(r.tfjs_gflops ?? 0, r.jax_gflops ?? 0);
    if (r.r1lab_gflops === null || best === 0) continue;
    judged++;
    if (r.r1lab_gflops < best) misses.push(`${r.label}: ${(r.r1lab_gflops / best).toFixed(2)}× the faster peer`);
  }
  out.push({
    target: "matmul at least as fast as the faster peer at every size ≥ 256",
    met: judged === 0 ? null : misses.length === 0,
    detail: judged === 0 ? "no sizes ≥ 256 with a peer result" : misses.length ? `missed at ${misses.join("; ")}` : `met at all ${judged} sizes`,
  });
  // 2. training step ≥ 2× faster than tfjs-webgpu
  const t = ratio(j.train_step.r1lab_ms, j.train_step.tfjs_ms);
  out.push({
    target: "training step at least 2× faster than tfjs-webgpu (R1÷tfjs ≤ 0.5)",
    met: t === null ? null : t <= 0.5,
    detail: t === null ? "not measured" : `R1 Lab ${fmtMs(j.train_step.r1lab_ms)} vs tfjs ${fmtMs(j.train_step.tfjs_ms)}: R1÷tfjs = ${t.toFixed(2)} (${t <= 1 ? `${(1 / t).toFixed(2)}× faster` : `${t.toFixed(2)}× slower`})`,
  });
  // 3. CPU engine within 1.5× of tfjs-wasm
  const c = ratio(j.train_step.r1lab_cpu_ms, j.train_step.tfjs_wasm_ms);
  out.push({
    target: "R1 Lab CPU engine within 1.5× of tfjs-wasm (R1÷wasm ≤ 1.5)",
    met: c === null ? null : c <= 1.5,
    detail: c === null ? "not measured" : `R1 Lab CPU ${fmtMs(j.train_step.r1lab_cpu_ms)} vs tfjs-wasm ${fmtMs(j.train_step.tfjs_wasm_ms)}: R1÷wasm = ${c.toFixed(2)}`,
  });
  return out;
}

function repsText(t: Reps): string {
  return t.maxReps && t.maxReps > t.reps ? `${t.reps}–${t.maxReps} (more while under ${(t.budgetMs ?? 0) / 1000} s)` : String(t.reps);
}

function fmtMs(x: number | null): string {
  return x === null ? "—" : `${x.toFixed(x < 100 ? 1 : 0)} ms`;
}
function fmtNum(x: number | null, digits = 2): string {
  return x === null ? "—" : x.toFixed(digits);
}
function fmtRatio(x: number | null): string {
  return x === null ? "—" : x.toFixed(2);
}
function fmtBytes(b: number): string {
  return b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`;
}

function table(head: string[], rows: string[][], leftCols = 1): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < leftCols ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  return [line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n");
}

function matmulTable(rows: MatmulRow[]): string {
  return table(
    ["shape", "M×K×N", "R1 Lab", "tfjs-webgpu", "jax-js", "R1÷tfjs", "R1÷jax", "R1 kernel", "per", "samples"],
    rows.map((r) => [
      r.label + (r.trans ? ` (${r.trans === "a" ? "Aᵀ·B" : "A·Bᵀ"})` : ""),
      `${r.m}×${r.k}×${r.n}`,
      fmtNum(r.r1lab_gflops), fmtNum(r.tfjs_gflops), fmtNum(r.jax_gflops),
      fmtRatio(ratio(r.r1lab_gflops, r.tfjs_gflops)), fmtRatio(ratio(r.r1lab_gflops, r.jax_gflops)),
      r.r1lab_kernel, String(r.per_sample), String(r.samples),
    ]),
    2,
  );
}

/** The human-readable report: the tables, the per-step counts, the checks and the targets. */
export function formatReport(j: BenchJson): string {
  const a = j.adapter;
  const out: string[] = [];
  out.push(`adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(" / ") || "unknown"}${a.software ? "  (software adapter: timings say little about real GPUs)" : ""}`);
  out.push(`browser: ${a.browser}; host: ${j.host.cpus} × ${j.host.cpu_model || "CPU"}, load average ${j.host.loadavg_start[0]?.toFixed(2)} → ${j.host.loadavg_end[0]?.toFixed(2)} (1 min)`);
  out.push("");
  out.push(`fp32 matmul, GFLOP/s — higher is better; median of the samples column (each sample: "per" products, then one wait), after the checked run + ${j.timing.matmul.warmup} warm-up; R1÷peer > 1: R1 Lab faster`);
  out.push(matmulTable(j.matmul));
  out.push("");
  const ts = j.train_step;
  out.push(`training step (forward + backward + AdamW), ms — lower is better; median of ${repsText(j.timing.train)} steps after the check steps and ${j.timing.train.warmup} warm-up; R1÷peer < 1: R1 Lab faster`);
  out.push(`  model: ${ts.model}`);
  if (ts.cpu_model && ts.cpu_model !== ts.model) out.push(`  CPU rows: ${ts.cpu_model}`);
  out.push(table(
    ["engine", "R1 Lab", "peer", "peer ms", "R1÷peer"],
    [
      ["WebGPU", fmtMs(ts.r1lab_ms), "tfjs-webgpu", fmtMs(ts.tfjs_ms), fmtRatio(ratio(ts.r1lab_ms, ts.tfjs_ms))],
      ["CPU", fmtMs(ts.r1lab_cpu_ms), "tfjs-wasm", fmtMs(ts.tfjs_wasm_ms), fmtRatio(ratio(ts.r1lab_cpu_ms, ts.tfjs_wasm_ms))],
      ["CPU", fmtMs(ts.r1lab_cpu_ms), "tfjs-cpu", fmtMs(ts.tfjs_cpu_ms), fmtRatio(ratio(ts.r1lab_cpu_ms, ts.tfjs_cpu_ms))],
    ],
    1,
  ));
  out.push("");
  const p = j.per_step;
  out.push(`R1 Lab per WebGPU step: ${p.dispatches} dispatches, ${p.submits} submit${p.submits === 1 ? "" : "s"}, ${p.readbacks} readback${p.readbacks === 1 ? "" : "s"}, ${p.uploads} uploads; pool ${fmtBytes(p.pooled_bytes)} (${fmtBytes(p.live_bytes)} live)${p.tfjs_kernels !== null ? `; tfjs-webgpu ran ${p.tfjs_kernels} kernels for the same step` : ""}`);
  out.push("");
  const failed = j.checks.filter((c) => !c.ok);
  out.push(`correctness checks: ${j.checks.length - failed.length} passed, ${failed.length} failed`);
  for (const c of failed) out.push(`  FAILED ${c.name}: ${c.detail}`);
  for (const s of j.skipped) out.push(`  skipped: ${s}`);
  out.push("");
  out.push("targets (issue 5):");
  for (const t of judgeTargets(j)) out.push(`  [${t.met === null ? "n/a" : t.met ? "met" : "MISSED"}] ${t.target}: ${t.detail}`);
  return out.join("\n");
}

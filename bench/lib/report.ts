// Turning a run into the JSON file and the printed table, and judging the issue's
// targets. Pure functions: the unit test checks them without a browser.

import type { BenchJson, CpuBenchResult, CpuMatmulRow, CpuTrainRow, MatmulRow, Reps } from "./common.js";

/** The keys the issues fix (5: WebGPU; 9: the CPU engines); checked by the test and by validateBenchJson. */
export const REQUIRED_SHAPE = {
  matmul: ["n", "r1lab_gflops", "tfjs_gflops", "jax_gflops"],
  train_step: ["r1lab_ms", "tfjs_ms", "r1lab_cpu_ms", "tfjs_wasm_ms"],
  per_step: ["dispatches", "submits", "readbacks"],
  cpu_matmul: ["m", "k", "n", "wasm_gflops", "reference_gflops", "tfjs_wasm_gflops", "tfjs_cpu_gflops"],
  cpu_train: ["params", "batch", "seq_len", "wasm_ms", "reference_ms", "tfjs_wasm_ms", "tfjs_cpu_ms"],
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
  if (!("cpu" in j)) problems.push("cpu: missing (null when not run)");
  else if (j.cpu !== null) {
    const cpu = j.cpu;
    if (!isObj(cpu)) problems.push("cpu: not an object or null");
    else {
      for (const [part, keys] of [["matmul", REQUIRED_SHAPE.cpu_matmul], ["train", REQUIRED_SHAPE.cpu_train]] as const) {
        const rows = cpu[part];
        if (!Array.isArray(rows)) {
          problems.push(`cpu.${part}: not an array`);
          continue;
        }
        rows.forEach((row: unknown, i) => {
          if (!isObj(row)) return problems.push(`cpu.${part}[${i}]: not an object`);
          for (const k of keys) {
            if (!(k in row)) problems.push(`cpu.${part}[${i}].${k}: missing`);
            else if (!numOrNull(row[k])) problems.push(`cpu.${part}[${i}].${k}: not a number or null`);
          }
        });
      }
    }
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
  /** the issue that set the target */
  issue: 5 | 9;
  target: string;
  met: boolean | null;
  detail: string;
}

const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);

/** the square products the targets speak of: 256², 512², 1024² */
const isJudgedSquare = (r: { m: number; k: number; n: number; trans: string }) => r.m === r.n && r.k === r.n && r.n >= 256 && r.trans === "";

/** The targets of issue 5 (WebGPU) and issue 9 (the CPU engine), judged on this run (null: could not be judged). */
export function judgeTargets(j: BenchJson): TargetVerdict[] {
  return [...judgeWebGPUTargets(j), ...judgeCpuTargets(j.cpu ?? null)];
}

function judgeWebGPUTargets(j: BenchJson): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  // 1. matmul ≥ the faster peer at every square size ≥ 256
  const rows = j.matmul.filter(isJudgedSquare);
  const misses: string[] = [];
  let judged = 0;
  for (const r of rows) {
    const best = Math.max(r.tfjs_gflops ?? 0, r.jax_gflops ?? 0);
    if (r.r1lab_gflops === null || best === 0) continue;
    judged++;
    if (r.r1lab_gflops < best) misses.push(`${r.label}: ${(r.r1lab_gflops / best).toFixed(2)}× the faster peer`);
  }
  out.push({
    issue: 5,
    target: "WebGPU matmul at least as fast as the faster peer at every size ≥ 256",
    met: judged === 0 ? null : misses.length === 0,
    detail: judged === 0 ? "no sizes ≥ 256 with a peer result" : misses.length ? `missed at ${misses.join("; ")}` : `met at all ${judged} sizes`,
  });
  // 2. training step ≥ 2× faster than tfjs-webgpu
  const t = ratio(j.train_step.r1lab_ms, j.train_step.tfjs_ms);
  out.push({
    issue: 5,
    target: "WebGPU training step at least 2× faster than tfjs-webgpu (R1÷tfjs ≤ 0.5)",
    met: t === null ? null : t <= 0.5,
    detail: t === null ? "not measured" : `R1 Lab ${fmtMs(j.train_step.r1lab_ms)} vs tfjs ${fmtMs(j.train_step.tfjs_ms)}: R1÷tfjs = ${t.toFixed(2)} (${t <= 1 ? `${(1 / t).toFixed(2)}× faster` : `${t.toFixed(2)}× slower`})`,
  });
  // 3. CPU engine within 1.5× of tfjs-wasm
  const c = ratio(j.train_step.r1lab_cpu_ms, j.train_step.tfjs_wasm_ms);
  out.push({
    issue: 5,
    target: "R1 Lab CPU engine within 1.5× of tfjs-wasm (R1÷wasm ≤ 1.5)",
    met: c === null ? null : c <= 1.5,
    detail: c === null ? "not measured" : `R1 Lab CPU ${fmtMs(j.train_step.r1lab_cpu_ms)} vs tfjs-wasm ${fmtMs(j.train_step.tfjs_wasm_ms)}: R1÷wasm = ${c.toFixed(2)}`,
  });
  return out;
}

/** a per-size target on the CPU matmul rows: wasm ÷ peer ≥ `atLeast` at 256–1024² */
function matmulRatioTarget(cpu: CpuBenchResult | null, peer: "reference_gflops" | "tfjs_wasm_gflops", atLeast: number, target: string): TargetVerdict {
  const rows = (cpu?.matmul ?? []).filter(isJudgedSquare);
  const parts: string[] = [];
  let judged = 0;
  let misses = 0;
  for (const r of rows) {
    const q = ratio(r.wasm_gflops, r[peer]);
    if (q === null) continue;
    judged++;
    if (q < atLeast) misses++;
    parts.push(`${r.label} ${q.toFixed(2)}×${q < atLeast ? " (missed)" : ""}`);
  }
  return {
    issue: 9, target,
    met: judged === 0 ? null : misses === 0,
    detail: judged === 0 ? "no CPU matmul rows at 256–1024² with both engines timed" : `wasm÷peer GFLOP/s: ${parts.join(", ")}`,
  };
}

/** a target on the default GPT's CPU training step: peer ms ÷ wasm ms ≥ `atLeast` */
function stepRatioTarget(row: CpuTrainRow | null, peer: "reference_ms" | "tfjs_wasm_ms", peerName: string, atLeast: number, target: string): TargetVerdict {
  const q = row ? ratio(row[peer], row.wasm_ms) : null;
  return {
    issue: 9, target,
    met: q === null ? null : q >= atLeast,
    detail: q === null || !row ? "the default GPT's CPU step was not timed on both engines" : `R1 Lab wasm ${fmtMs(row.wasm_ms)} vs ${peerName} ${fmtMs(row[peer])}: ${q.toFixed(2)}× faster`,
  };
}

function judgeCpuTargets(cpu: CpuBenchResult | null): TargetVerdict[] {
  const threads = cpu?.tfjs_wasm_threads ? " (tfjs-wasm had threads in this run: not a single-thread comparison)" : "";
  const def = cpu?.train.find((r) => r.preset === "default") ?? null;
  return [
    matmulRatioTarget(cpu, "reference_gflops", 8, "single-thread CPU matmul at 256–1024² at least 8× the TypeScript engine's GFLOP/s"),
    matmulRatioTarget(cpu, "tfjs_wasm_gflops", 1, `single-thread CPU matmul at 256–1024² at least tfjs-wasm's GFLOP/s${threads}`),
    stepRatioTarget(def, "reference_ms", "the TypeScript engine", 3, "default GPT's CPU training step at least 3× faster than the TypeScript engine"),
    stepRatioTarget(def, "tfjs_wasm_ms", "tfjs-wasm", 2, `default GPT's CPU training step at least 2× faster than tfjs-wasm${threads}`),
    {
      issue: 9, target: "the default pretrain preset through the CLI in under 10 minutes", met: null,
      detail: "not measured by r1-lab bench (a full `r1-lab train pretrain --preset default` run measures it)",
    },
  ];
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

function cpuMatmulTable(rows: CpuMatmulRow[]): string {
  return table(
    ["shape", "M×K×N", "R1 wasm", "R1 TS", "tfjs-wasm", "tfjs-cpu", "wasm÷TS", "wasm÷tfjs-wasm", "wasm÷tfjs-cpu", "per", "samples"],
    rows.map((r) => [
      r.label + (r.trans ? ` (${r.trans === "a" ? "Aᵀ·B" : "A·Bᵀ"})` : ""),
      `${r.m}×${r.k}×${r.n}`,
      fmtNum(r.wasm_gflops), fmtNum(r.reference_gflops), fmtNum(r.tfjs_wasm_gflops), fmtNum(r.tfjs_cpu_gflops),
      fmtRatio(ratio(r.wasm_gflops, r.reference_gflops)), fmtRatio(ratio(r.wasm_gflops, r.tfjs_wasm_gflops)), fmtRatio(ratio(r.wasm_gflops, r.tfjs_cpu_gflops)),
      String(r.per_sample), String(r.samples),
    ]),
    2,
  );
}

function cpuTrainTable(rows: CpuTrainRow[]): string {
  return table(
    ["GPT", "params", "batch", "R1 wasm", "R1 TS", "tfjs-wasm", "tfjs-cpu", "TS÷wasm", "tfjs-wasm÷wasm", "tfjs-cpu÷wasm", "steps"],
    rows.map((r) => [
      r.preset, String(r.params), `${r.batch}×${r.seq_len}`,
      fmtMs(r.wasm_ms), fmtMs(r.reference_ms), fmtMs(r.tfjs_wasm_ms), fmtMs(r.tfjs_cpu_ms),
      fmtRatio(ratio(r.reference_ms, r.wasm_ms)), fmtRatio(ratio(r.tfjs_wasm_ms, r.wasm_ms)), fmtRatio(ratio(r.tfjs_cpu_ms, r.wasm_ms)),
      String(r.samples),
    ]),
    1,
  );
}

/** The CPU engines side by side: R1 Lab's WebAssembly and TypeScript engines, tfjs-wasm, tfjs-cpu. */
function cpuSection(j: BenchJson): string[] {
  const cpu = j.cpu!;
  const out: string[] = [];
  out.push(`CPU engines, one thread each — R1 wasm: ${cpu.wasm_engine} (what --backend cpu runs); R1 TS: the TypeScript reference engine; tfjs-wasm: SIMD ${cpu.tfjs_wasm_simd === null ? "?" : cpu.tfjs_wasm_simd ? "on" : "off"}, threads ${cpu.tfjs_wasm_threads === null ? "?" : cpu.tfjs_wasm_threads ? "on" : "off"}`);
  if (cpu.matmul.length) {
    out.push(`fp32 matmul on the CPU, GFLOP/s — higher is better; median of the samples column, after the checked run${j.timing.cpu_matmul ? ` + ${j.timing.cpu_matmul.warmup} warm-up` : ""}; wasm÷peer > 1: the WebAssembly engine faster`);
    out.push(cpuMatmulTable(cpu.matmul));
  }
  if (cpu.train.length) {
    if (cpu.matmul.length) out.push("");
    out.push(`training step on the CPU (forward + backward + AdamW), ms — lower is better; median of ${j.timing.cpu_train ? repsText(j.timing.cpu_train) : "the"} steps after the check steps; peer÷wasm > 1: the WebAssembly engine that many times faster`);
    for (const r of cpu.train) out.push(`  ${r.preset}: ${r.model}`);
    out.push(cpuTrainTable(cpu.train));
  }
  return out;
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
  if (!j.cpu && ts.cpu_model && ts.cpu_model !== ts.model) out.push(`  CPU rows: ${ts.cpu_model}`);
  const stepRows = [["WebGPU", fmtMs(ts.r1lab_ms), "tfjs-webgpu", fmtMs(ts.tfjs_ms), fmtRatio(ratio(ts.r1lab_ms, ts.tfjs_ms))]];
  // files written before the CPU section existed carry their CPU step here only
  if (!j.cpu) {
    stepRows.push(
      ["CPU", fmtMs(ts.r1lab_cpu_ms), "tfjs-wasm", fmtMs(ts.tfjs_wasm_ms), fmtRatio(ratio(ts.r1lab_cpu_ms, ts.tfjs_wasm_ms))],
      ["CPU", fmtMs(ts.r1lab_cpu_ms), "tfjs-cpu", fmtMs(ts.tfjs_cpu_ms), fmtRatio(ratio(ts.r1lab_cpu_ms, ts.tfjs_cpu_ms))],
    );
  }
  out.push(table(["engine", "R1 Lab", "peer", "peer ms", "R1÷peer"], stepRows, 1));
  out.push("");
  const p = j.per_step;
  out.push(`R1 Lab per WebGPU step: ${p.dispatches} dispatches, ${p.submits} submit${p.submits === 1 ? "" : "s"}, ${p.readbacks} readback${p.readbacks === 1 ? "" : "s"}, ${p.uploads} uploads; pool ${fmtBytes(p.pooled_bytes)} (${fmtBytes(p.live_bytes)} live)${p.tfjs_kernels !== null ? `; tfjs-webgpu ran ${p.tfjs_kernels} kernels for the same step` : ""}`);
  out.push("");
  if (j.cpu) out.push(...cpuSection(j), "");
  const failed = j.checks.filter((c) => !c.ok);
  out.push(`correctness checks: ${j.checks.length - failed.length} passed, ${failed.length} failed`);
  for (const c of failed) out.push(`  FAILED ${c.name}: ${c.detail}`);
  for (const s of j.skipped) out.push(`  skipped: ${s}`);
  out.push("");
  const verdicts = judgeTargets(j);
  for (const issue of [5, 9] as const) {
    out.push(`targets (issue ${issue}):`);
    for (const t of verdicts.filter((v) => v.issue === issue)) out.push(`  [${t.met === null ? "n/a" : t.met ? "met" : "MISSED"}] ${t.target}: ${t.detail}`);
  }
  return out.join("\n");
}

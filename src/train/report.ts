// The report card of a pipeline run (r1-lab pipeline): for every stage of the recipe,
// what it measured, how long it took, the tokens and FLOPs it spent, an estimate of the
// energy and money that cost on the machine that ran it, and DeepSeek's scale for the
// same stage (from the fact sheet, ../shared/reference/deepseek-r1-algorithms.md §4).
// Pure: the CLI (src/cli/pipeline.ts) reads the run records and writes the files.

export const PIPELINE_STAGES = [
  "pretrain", "sft", "grpo", "rejection", "student-pretrain", "distill", "student-sft", "student-grpo", "compare",
] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** Which model a stage trains, in R1's Table 6 terms. */
export const STAGE_ROLE: Record<PipelineStage, string> = {
  pretrain: "teacher", sft: "teacher", grpo: "teacher", rejection: "teacher's data",
  "student-pretrain": "student base", distill: "student (distilled)", "student-sft": "student (RL)", "student-grpo": "student (RL)",
  compare: "evaluation",
};

export const STAGE_TITLE: Record<PipelineStage, string> = {
  pretrain: "Pretraining (the base)", sft: "Cold-start SFT", grpo: "Reasoning RL (GRPO)", rejection: "Rejection sampling",
  "student-pretrain": "Pretraining (the student's base)", distill: "Distillation (SFT on the kept traces)",
  "student-sft": "The student's own cold start", "student-grpo": "The student's own GRPO", compare: "Held-out comparison",
};

/** DeepSeek's figure for the stage, where the fact sheet has one (null fields: not published). */
export interface DeepSeekScale {
  what: string;
  tokens: number | null;
  samples: number | null;
  gpu_hours: number | null;
  usd: number | null;
  source: string;
}

const FACTS = "deepseek-r1-algorithms.md §4";
export const DEEPSEEK_SCALE: Partial<Record<PipelineStage, DeepSeekScale>> = {
  pretrain: { what: "DeepSeek-V3 pre-training", tokens: 14.8e12, samples: null, gpu_hours: 2_664_000, usd: 5_328_000, source: `${FACTS} "Costs" (V3 Table 1, H800 at $2/GPU-hour)` },
  sft: { what: "R1's cold start: \"thousands\" of long-CoT examples", tokens: null, samples: null, gpu_hours: null, usd: null, source: `${FACTS} stage 1 (no cost published; V3's whole post-training was 5K GPU-hours)` },
  grpo: { what: "R1's RL (R1-Zero ~198 h + R1 ~80 h of wall time)", tokens: null, samples: null, gpu_hours: null, usd: 294_000, source: `${FACTS} "Costs" (Nature SI, secondary sources)` },
  rejection: { what: "~600k reasoning samples kept (plus ~200k non-reasoning)", tokens: null, samples: 600_000, gpu_hours: null, usd: null, source: `${FACTS} stage 3` },
  distill: { what: "SFT of Qwen/Llama students on the ~800k samples (2 epochs for R1's own stage 3)", tokens: null, samples: 800_000, gpu_hours: null, usd: null, source: `${FACTS} "Distillation"` },
};

export interface MachineCost {
  /** the power the run is assumed to draw (an assumption, stated in the report) */
  watts: number;
  usd_per_kwh: number;
  cpus: number;
  cpu_model: string;
  backend: string;
}

export interface StageReport {
  stage: PipelineStage;
  title: string;
  role: string;
  dir: string;
  command: string;
  wall_s: number;
  tokens: number;
  flops: number;
  energy_wh: number;
  cost_usd: number;
  /** the stage's headline numbers */
  metrics: Record<string, number | null>;
  /** finished before this invocation: read from its record, not run again */
  resumed: boolean;
  /** a stage of the teacher given with --teacher, recorded elsewhere */
  given: boolean;
  deepseek: DeepSeekScale | null;
}

/** R1's Table 6 in miniature, from the compare stage. */
export interface Table6 {
  teacher_heldout_accuracy: number;
  student_distilled_heldout_accuracy: number;
  student_rl_heldout_accuracy: number;
  acceptance_rate: number;
  /** the distilled student's training: distillation only (its base is shared) */
  student_distilled_flops: number;
  /** the RL student's training: its cold start + GRPO (sampling included) */
  student_rl_flops: number;
  /** the student base both start from */
  student_base_flops: number;
  /** the teacher's rejection sampling that made the distillation data */
  teacher_sampling_flops: number;
  [k: string]: number;
}

export interface PipelineReport {
  command: string;
  preset: string;
  seed: number;
  machine: MachineCost;
  stages: StageReport[];
  /** null until the compare stage has run */
  table6: Table6 | null;
  totals: { wall_s: number; flops: number; tokens: number; energy_wh: number; cost_usd: number };
  finished: boolean;
}

export function energyOf(wall_s: number, m: Pick<MachineCost, "watts" | "usd_per_kwh">): { energy_wh: number; cost_usd: number } {
  const energy_wh = (wall_s * m.watts) / 3600;
  return { energy_wh, cost_usd: (energy_wh / 1000) * m.usd_per_kwh };
}

export function totalsOf(stages: readonly StageReport[]): PipelineReport["totals"] {
  const sum = (k: "wall_s" | "flops" | "tokens" | "energy_wh" | "cost_usd") => stages.reduce((s, x) => s + x[k], 0);
  return { wall_s: sum("wall_s"), flops: sum("flops"), tokens: sum("tokens"), energy_wh: sum("energy_wh"), cost_usd: sum("cost_usd") };
}

/** 1234567 → "1.23M", 4.2e12 → "4.20T" */
export function si(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return "—";
  const units: [number, string][] = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [v, u] of units) if (Math.abs(x) >= v) return `${(x / v).toFixed(2)}${u}`;
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

const pct = (x: number | null | undefined) => (x == null ? "—" : `${(100 * x).toFixed(1)}%`);
const usd = (x: number | null) => (x === null ? "—" : x >= 1000 ? `$${si(x)}` : `$${x.toPrecision(2)}`);

/** report.md: the same numbers as report.json, for a person. */
export function reportMarkdown(r: PipelineReport): string {
  const m = r.machine;
  const lines: string[] = [
    `# R1 recipe report card (${r.preset})`,
    "",
    `\`${r.command}\``,
    "",
    `Machine: ${m.cpu_model}, ${m.cpus} CPUs, engine ${m.backend}. Energy assumes ${m.watts} W drawn while a stage runs, ` +
      `at $${m.usd_per_kwh}/kWh (assumptions, not measurements). Evaluations are not counted in FLOPs.` +
      (r.finished ? "" : " **Unfinished: stages after the last row have not run.**"),
    "",
    "| stage | trains | wall | tokens | FLOPs | energy | cost | headline | DeepSeek's scale |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const s of r.stages) {
    const ds = s.deepseek;
    const scale = ds ? [ds.what, ds.tokens ? `${si(ds.tokens)} tokens` : "", ds.samples ? `${si(ds.samples)} samples` : "", ds.gpu_hours ? `${si(ds.gpu_hours)} GPU-h` : "", ds.usd ? usd(ds.usd) : ""].filter(Boolean).join(", ") : "";
    lines.push(`| ${s.title}${s.given ? " (given teacher)" : s.resumed ? " (resumed)" : ""} | ${s.role} | ${s.wall_s.toFixed(1)} s | ${si(s.tokens)} | ${si(s.flops)} | ${s.energy_wh.toFixed(3)} Wh | ${usd(s.cost_usd)} | ${headline(s)} | ${scale} |`);
  }
  const t = r.totals;
  lines.push(`| **total** | | ${t.wall_s.toFixed(1)} s | ${si(t.tokens)} | ${si(t.flops)} | ${t.energy_wh.toFixed(3)} Wh | ${usd(t.cost_usd)} | | |`, "");
  if (r.table6) {
    const x = r.table6;
    lines.push(
      "## Distillation vs RL for the small model (R1's Table 6 in miniature)", "",
      "| model | held-out accuracy (greedy) | training FLOPs |", "|---|---|---|",
      `| teacher (pretrain → SFT → GRPO) | ${pct(x.teacher_heldout_accuracy)} | |`,
      `| student, distilled from the teacher's kept traces | ${pct(x.student_distilled_heldout_accuracy)} | ${si(x.student_distilled_flops)} |`,
      `| student, its own cold start + GRPO | ${pct(x.student_rl_heldout_accuracy)} | ${si(x.student_rl_flops)} |`,
      "",
      `Both students start from the same base (${si(x.student_base_flops)} FLOPs of pretraining). The teacher's rejection sampling ` +
        `(${si(x.teacher_sampling_flops)} FLOPs) kept ${pct(x.acceptance_rate)} of its samples.`,
      "",
    );
  }
  return lines.join("\n");
}

function headline(s: StageReport): string {
  const m = s.metrics;
  const parts: string[] = [];
  if (m.heldout_accuracy != null) parts.push(`held-out ${pct(m.heldout_accuracy)}`);
  if (m.val_loss != null) parts.push(`val loss ${m.val_loss}`);
  if (m.acceptance_rate != null && m.traces != null) parts.push(`acceptance ${pct(m.acceptance_rate)}, ${m.traces} traces`);
  if (m.teacher_heldout_accuracy != null) {
    parts.push(`teacher ${pct(m.teacher_heldout_accuracy)} · distilled ${pct(m.student_distilled_heldout_accuracy)} · RL ${pct(m.student_rl_heldout_accuracy)}`);
  }
  return parts.join(", ");
}

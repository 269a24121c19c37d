// Page pieces for the distillation lesson: the teacher's samples with their verdicts and
// the acceptance rate per level, the student's live answers, the distillation-vs-RL chart
// (R1's Table 6 in miniature), and the report card of the recorded pipeline, with bar
// charts. Everything shown is read from data/ files made by the CLI; nothing here trains.
import type { AnswersView } from "../lib/harness/jobs/distill.js";
import { VERDICTS, stepProblems, type LevelAcceptance, type Verdict } from "../lib/train/rejection.js";
import { si, type PipelineReport } from "../lib/train/report.js";
import { h } from "../lib/viz/dom.js";

const CSS = `
.r1-distill table { display: table; width: 100%; table-layout: auto; font-size: 13px; }
.r1-distill td.reply { font-family: var(--monospace, monospace); white-space: pre-wrap; word-break: break-word; font-size: 12px; }
.r1-distill .badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; color: white; white-space: nowrap; }
.r1-distill .badge.kept { background: #2f9e44; } .r1-distill .badge.duplicate { background: #74b816; }
.r1-distill .badge.too_long { background: #f59f00; } .r1-distill .badge.wrong { background: #d9480f; } .r1-distill .badge.malformed { background: #862e9c; }
.r1-distill .stack { display: flex; height: 14px; border-radius: 2px; overflow: hidden; min-width: 160px; }
.r1-distill .stack span { display: block; height: 100%; }
.r1-distill .controls { display: flex; gap: 12px; flex-wrap: wrap; align-items: center; margin: 6px 0; font-size: 13px; }
.r1-distill .bars { display: grid; grid-template-columns: max-content 1fr max-content; gap: 4px 10px; align-items: center; font-size: 13px; margin: 6px 0 14px; }
@media (max-width: 640px) { .r1-distill .bars { grid-template-columns: minmax(0, 1fr); } }
.r1-distill .bars > span { overflow-wrap: anywhere; }
.r1-distill .bar { height: 14px; border-radius: 2px; background: var(--r1-accent, #4269d0); min-width: 1px; }
.r1-distill .bar.teacher { background: #6c757d; } .r1-distill .bar.distilled { background: #2f9e44; } .r1-distill .bar.rl { background: #d9480f; }
.r1-distill-samples table { display: block; overflow-x: auto; }
.r1-distill-samples td.q { white-space: nowrap; font-family: var(--monospace, monospace); font-size: 12px; }
.r1-distill-samples td.steps { min-width: 180px; }
.r1-report-card table { display: block; overflow-x: auto; }
.r1-report-card td.r1-note { min-width: 220px; }
.r1-distill .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
.r1-distill .legend span { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 10px; vertical-align: middle; }
`;
let cssDone = false;
export function distillCss(): void {
  if (cssDone) return;
  cssDone = true;
  const s = document.createElement("style");
  s.textContent = CSS;
  document.head.append(s);
}

const VERDICT_COLOR: Record<Verdict, string> = { kept: "#2f9e44", duplicate: "#74b816", too_long: "#f59f00", wrong: "#d9480f", malformed: "#862e9c" };
const VERDICT_TEXT: Record<Verdict, string> = {
  kept: "kept", duplicate: "right, a copy of one kept", too_long: "right, too long", wrong: "wrong answer", malformed: "malformed",
};
const pct = (x: number | null | undefined) => (typeof x === "number" ? `${(100 * x).toFixed(1)}%` : "—");
const visible = (s: string) => s.replace(/\n/g, "⏎");

export interface TeacherSample {
  id: string;
  level: number;
  question: string;
  answer: string;
  completion: string;
  tokens: number;
  verdict: Verdict;
}

export interface TeacherData {
  missing?: boolean;
  summary?: { command: string; metrics: Record<string, number>; acceptance: Record<string, LevelAcceptance>; config: { samplesPerPrompt: number; temperature: number; promptsPerLevel: number } };
  samples?: TeacherSample[];
}

function badge(v: Verdict): HTMLElement {
  const b = h("span", `badge ${v}`, VERDICT_TEXT[v]);
  return b;
}

/** Acceptance per level as stacked bars: how each level's samples were judged. */
export function acceptanceBars(acceptance: Record<string, LevelAcceptance>): HTMLElement {
  distillCss();
  const root = h("div", "r1-distill");
  const legend = h("p", "r1-note legend");
  for (const v of VERDICTS) {
    const sw = h("span");
    sw.style.background = VERDICT_COLOR[v];
    legend.append(sw, VERDICT_TEXT[v]);
  }
  const grid = h("div", "bars");
  for (const [level, a] of Object.entries(acceptance)) {
    const stack = h("div", "stack");
    stack.dataset.level = level;
    for (const v of VERDICTS) {
      const part = h("span");
      part.style.width = `${(100 * (a[v] ?? 0)) / Math.max(1, a.sampled)}%`;
      part.style.background = VERDICT_COLOR[v];
      part.title = `${VERDICT_TEXT[v]}: ${a[v] ?? 0}`;
      stack.append(part);
    }
    grid.append(h("span", undefined, level === "all" ? "all levels" : `level ${level}`), stack,
      h("span", "r1-note", `${pct(a.acceptance_rate)} passed · ${a.kept} kept of ${a.sampled}`));
  }
  root.append(grid, legend);
  return root;
}

/** The acceptance bars with the command that made the samples (or why there are none). */
export function acceptancePanel(data: TeacherData): HTMLElement {
  if (data.missing || !data.summary) return h("p", "r1-note", "Not recorded in this build.");
  const root = acceptanceBars(data.summary.acceptance);
  const note = h("p", "r1-note", "Made by ");
  note.append(h("code", undefined, data.summary.command), `: ${data.summary.metrics.traces} traces kept of ${data.summary.metrics.sampled} samples.`);
  root.append(note);
  return root;
}

/** The teacher's samples, filterable by level and verdict, each with its verdict. */
export function samplesBrowser(data: TeacherData): HTMLElement {
  distillCss();
  const root = h("div", "r1-panel r1-distill r1-distill-samples");
  if (data.missing || !data.samples || !data.summary) {
    root.dataset.recorded = "missing";
    root.append(h("p", "r1-note", "The teacher's samples are not in this build (data/traces/teacher-default-samples.jsonl). They are written by r1-lab pipeline --preset default and scripts/record-distill.ts --ship default."));
    return root;
  }
  root.dataset.recorded = "yes";
  const samples = data.samples;
  const levels = [...new Set(samples.map((s) => s.level))].sort((a, b) => a - b);
  const levelSel = h("select");
  levelSel.name = "level";
  for (const l of levels) levelSel.append(Object.assign(h("option", undefined, `level ${l}`), { value: String(l) }));
  const verdictSel = h("select");
  verdictSel.name = "verdict";
  for (const v of ["all", ...VERDICTS]) verdictSel.append(Object.assign(h("option", undefined, v === "all" ? "every verdict" : VERDICT_TEXT[v as Verdict]), { value: v }));
  const controls = h("div", "controls");
  const l1 = h("label", undefined, "show ");
  l1.append(levelSel);
  const l2 = h("label", undefined, "with ");
  l2.append(verdictSel);
  const count = h("span", "r1-note");
  controls.append(l1, l2, count);
  const table = h("table", "r1-table");
  const render = () => {
    const level = Number(levelSel.value);
    const verdict = verdictSel.value;
    const rows = samples.filter((s) => s.level === level && (verdict === "all" || s.verdict === verdict)).slice(0, 24);
    table.replaceChildren();
    const hr = h("tr");
    for (const k of ["question", "right answer", "the teacher's reply", "tokens", "verdict", "every step right? (right answers)"]) hr.append(h("th", undefined, k));
    table.append(hr);
    for (const s of rows) {
      const tr = h("tr");
      tr.dataset.verdict = s.verdict;
      const v = h("td");
      v.append(badge(s.verdict));
      // the verifier reads only the answer; the trace checker reads the steps too
      // (asked of right answers only: a wrong one has a wrong step by definition)
      const right = s.verdict !== "wrong" && s.verdict !== "malformed";
      const problems = right ? stepProblems(s) : [];
      if (right) tr.dataset.steps = problems.length ? "flawed" : "right";
      const steps = h("td", "r1-note steps", !right ? "—" : problems.length ? `no: ${problems[0]}` : "yes");
      tr.append(h("td", "q", s.question), h("td", "num", s.answer), h("td", "reply", visible(s.completion)), h("td", "num", String(s.tokens)), v, steps);
      table.append(tr);
    }
    const a = data.summary!.acceptance[String(level)];
    count.textContent = `${rows.length} shown; level ${level}: ${a ? `${pct(a.acceptance_rate)} of ${a.sampled} samples passed the verifier` : ""}`;
    root.dataset.shown = String(rows.length);
  };
  levelSel.addEventListener("change", render);
  verdictSel.addEventListener("change", render);
  root.append(h("h4", undefined, "The teacher's samples and their verdicts"), controls, table);
  render();
  return root;
}

export interface AnswersPanel {
  element: HTMLElement;
  update(v: AnswersView): void;
  clear(message?: string): void;
}

/** The student's greedy answers at the latest evaluation. */
export function answersPanel(): AnswersPanel {
  distillCss();
  const root = h("div", "r1-panel r1-distill r1-distill-answers");
  const note = h("p", "r1-note", "No answers yet.");
  const table = h("table", "r1-table");
  root.append(h("h4", undefined, "The student answers held-out questions (greedy)"), note, table);
  return {
    element: root,
    update(v) {
      root.dataset.step = String(v.step);
      note.textContent = `after ${v.step} step${v.step === 1 ? "" : "s"}: ${v.answers.filter((a) => a.correct).length} of ${v.answers.length} right`;
      table.replaceChildren();
      const hr = h("tr");
      for (const k of ["level", "question", "right answer", "the student's reply", "verdict"]) hr.append(h("th", undefined, k));
      table.append(hr);
      for (const a of v.answers) {
        const tr = h("tr");
        const verdict: Verdict = !a.formatOk ? "malformed" : a.correct ? "kept" : "wrong";
        const cell = h("td");
        cell.append(h("span", `badge ${verdict}`, a.correct && a.formatOk ? "right" : verdict === "wrong" ? "wrong" : "malformed"));
        tr.append(h("td", "num", String(a.level)), h("td", undefined, a.question), h("td", "num", a.expected), h("td", "reply", visible(a.reply)), cell);
        table.append(tr);
      }
    },
    clear(message = "No answers yet.") {
      delete root.dataset.step;
      note.textContent = message;
      table.replaceChildren();
    },
  };
}

export interface DistillRun {
  name: string;
  command: string;
  wall_s: number;
  teacher_params: number;
  student_params: number;
  metrics: Record<string, number>;
  stages: { stage: string; command: string; wall_s: number; tokens: number; flops: number; given: boolean }[];
}

export interface DistillResults {
  missing?: boolean;
  runs?: DistillRun[];
  claims?: string[];
}

/** R1's Table 6 in miniature: held-out accuracy of teacher and both students, with the students' training FLOPs. */
export function table6Panel(results: DistillResults): HTMLElement {
  distillCss();
  const root = h("div", "r1-panel r1-distill r1-distill-table6");
  if (results.missing || !results.runs?.length) {
    root.dataset.recorded = "missing";
    root.append(h("p", "r1-note", "Not recorded yet: data/results/distill.json is not in this build."));
    return root;
  }
  root.dataset.recorded = "yes";
  for (const r of results.runs) {
    const m = r.metrics;
    const block = h("div");
    block.dataset.run = r.name;
    block.append(h("h4", undefined, `${r.name}: teacher ${si(r.teacher_params)} parameters, student ${si(r.student_params)}`));
    const bars = h("div", "bars");
    const rows: [string, string, number, string][] = [
      ["teacher (pretrain → SFT → GRPO)", "teacher", m.teacher_heldout_accuracy!, ""],
      ["student, distilled", "distilled", m.student_distilled_heldout_accuracy!, `${si(m.student_distilled_flops!)} FLOPs`],
      ["student, own SFT + GRPO", "rl", m.student_rl_heldout_accuracy!, `${si(m.student_rl_flops!)} FLOPs`],
    ];
    for (const [label, cls, acc, flops] of rows) {
      const track = h("div");
      const bar = h("div", `bar ${cls}`);
      bar.style.width = `${Math.max(0.5, 100 * acc)}%`;
      bar.dataset.accuracy = String(acc);
      track.append(bar);
      bars.append(h("span", undefined, label), track, h("span", "r1-note", `${pct(acc)}${flops ? ` · ${flops}` : ""}`));
    }
    const note = h("p", "r1-note", `Held-out accuracy, greedy, levels ${levelsOf(m)[0]}–${levelsOf(m).at(-1)}; a bar's length is the accuracy. Made by `);
    note.append(h("code", undefined, r.command));
    block.append(bars, note);
    root.append(block);
  }
  return root;
}

function levelsOf(m: Record<string, number>): number[] {
  return Object.keys(m).flatMap((k) => { const x = /^teacher_heldout_accuracy_L(\d)$/.exec(k); return x ? [Number(x[1])] : []; }).sort();
}

/** Sentences built from the recorded numbers. */
export function distillFindings(results: DistillResults, name = "default"): HTMLElement {
  const root = h("ul", "r1-distill-findings");
  const r = results.runs?.find((x) => x.name === name);
  if (!r) {
    root.dataset.recorded = "missing";
    root.append(h("li", undefined, `The ${name} pipeline is not recorded in this build, so there is nothing to quote yet.`));
    return root;
  }
  root.dataset.recorded = "yes";
  const m = r.metrics;
  const d = m.student_distilled_heldout_accuracy!;
  const rl = m.student_rl_heldout_accuracy!;
  if (name === "default") root.append(
    h("li", undefined, `The teacher (${si(r.teacher_params)} parameters) answers ${pct(m.teacher_heldout_accuracy)} of the held-out problems; sampling at temperature 1, ${pct(m.acceptance_rate)} of its samples passed the verifier, and ${m.traces} distinct traces were kept` +
      (typeof m.kept_with_flawed_steps === "number" ? `, ${m.kept_with_flawed_steps} of them with a fault in their worked steps (the answer right all the same).` : ".")));
  root.append(
    h("li", undefined, `The ${si(r.student_params)}-parameter student (run "${name}") distilled from those traces: ${pct(d)}. The same student by its own cold start and GRPO: ${pct(rl)}. ` +
      (d === rl ? "A tie." : `${d > rl ? "Distillation" : "RL"} is ahead by ${Math.abs(100 * (d - rl)).toFixed(1)} points${d > rl ? ", as in R1's Table 6" : ", unlike R1's Table 6"}; the recorded claims say whether that is more than noise.`)),
    h("li", undefined, `Training compute: ${si(m.student_distilled_flops!)} FLOPs for the distillation, ${si(m.student_rl_flops!)} for the cold start + GRPO (sampling included); ` +
      `the teacher spent ${si(m.teacher_sampling_flops!)} FLOPs writing the samples.`),
  );
  return root;
}

/** The report card: one row per stage, and bar charts of FLOPs (log scale) and wall time per stage. */
export function reportCard(report: PipelineReport | { missing: true }): HTMLElement {
  distillCss();
  const root = h("div", "r1-panel r1-distill r1-report-card");
  if ("missing" in report) {
    root.dataset.recorded = "missing";
    root.append(h("p", "r1-note", "The default pipeline's report card is not in this build (data/reports/default/report.json)."));
    return root;
  }
  root.dataset.recorded = "yes";
  root.dataset.stages = String(report.stages.length);
  const m = report.machine;
  root.append(h("p", "r1-note", `${report.command} · ${m.cpu_model}, ${m.cpus} CPUs · energy at an assumed ${m.watts} W, $${m.usd_per_kwh}/kWh (assumptions, not measurements) · evaluations not counted in FLOPs`));
  const charts = h("div", "charts");
  const maxLog = Math.log10(Math.max(...report.stages.map((s) => s.flops), 10));
  const maxWall = Math.max(...report.stages.map((s) => s.wall_s), 1);
  const chart = (title: string, value: (s: PipelineReport["stages"][number]) => number, label: (s: PipelineReport["stages"][number]) => string) => {
    const box = h("div");
    box.append(h("h4", undefined, title));
    const bars = h("div", "bars");
    for (const s of report.stages) {
      const track = h("div");
      const bar = h("div", `bar ${s.role.startsWith("teacher") ? "teacher" : s.role.includes("RL") ? "rl" : "distilled"}`);
      bar.style.width = `${Math.max(0.5, 100 * value(s))}%`;
      track.append(bar);
      bars.append(h("span", undefined, s.stage), track, h("span", "r1-note", label(s)));
    }
    box.append(bars);
    return box;
  };
  charts.append(
    chart("FLOPs per stage (log scale)", (s) => (s.flops > 0 ? Math.log10(s.flops) / maxLog : 0), (s) => si(s.flops)),
    chart("wall time per stage", (s) => s.wall_s / maxWall, (s) => `${s.wall_s.toFixed(0)} s`),
  );
  root.append(charts);
  const t = h("table", "r1-table");
  const hr = h("tr");
  for (const k of ["stage", "trains", "wall", "tokens", "FLOPs", "energy", "cost", "DeepSeek's scale"]) hr.append(h("th", undefined, k));
  t.append(hr);
  for (const s of report.stages) {
    const tr = h("tr");
    tr.dataset.stage = s.stage;
    const ds = s.deepseek;
    const scale = ds ? [ds.what, ds.tokens ? `${si(ds.tokens)} tokens` : "", ds.samples ? `${si(ds.samples)} samples` : "", ds.gpu_hours ? `${si(ds.gpu_hours)} GPU-hours` : "", ds.usd ? `$${si(ds.usd)}` : ""].filter(Boolean).join(", ") : "";
    tr.append(h("td", undefined, `${s.title}${s.given ? " (recorded earlier)" : ""}`), h("td", undefined, s.role), h("td", "num", `${s.wall_s.toFixed(0)} s`),
      h("td", "num", si(s.tokens)), h("td", "num", si(s.flops)), h("td", "num", `${s.energy_wh.toFixed(2)} Wh`), h("td", "num", `$${s.cost_usd.toPrecision(2)}`), h("td", "r1-note", scale));
    t.append(tr);
  }
  const tt = report.totals;
  const total = h("tr");
  total.append(h("th", undefined, "total"), h("td"), h("th", "num", `${(tt.wall_s / 60).toFixed(0)} min`), h("th", "num", si(tt.tokens)), h("th", "num", si(tt.flops)),
    h("th", "num", `${tt.energy_wh.toFixed(1)} Wh`), h("th", "num", `$${tt.cost_usd.toPrecision(2)}`), h("td"));
  t.append(total);
  root.append(t);
  return root;
}

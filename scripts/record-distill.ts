// Writes data/results/distill.json from finished pipeline directories (r1-lab pipeline):
// each run's command, its Table 6 numbers (the compare stage's metrics), the acceptance per
// level, and one line per stage (command, wall time, tokens, FLOPs). Claims are kept from
// the existing file. With --ship NAME, that run's report card goes to data/reports/NAME/
// and its teacher's samples to data/traces/teacher-NAME*.jsonl (what the lesson page shows).
//   node --import tsx scripts/record-distill.ts [--ship default] <name>=<pipeline dir> [...]
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PipelineReport } from "../src/train/report.js";

const args = process.argv.slice(2);
const shipAt = args.indexOf("--ship");
const ship = shipAt >= 0 ? args.splice(shipAt, 2)[1] : undefined;
if (args.length === 0) {
  console.error("usage: record-distill.ts [--ship NAME] <name>=<pipeline dir> [...]");
  process.exit(2);
}
const file = "data/results/distill.json";
const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { claims?: string[] }) : {};
const json = <T>(f: string) => JSON.parse(readFileSync(f, "utf8")) as T;
/** samples per level the page's browser shows (of every verdict) */
const SAMPLES_PER_LEVEL = 160;

const runs = args.map((pair) => {
  const [name, dir] = pair.split("=");
  if (!name || !dir) throw new Error(`expected name=dir, got "${pair}"`);
  const report = json<PipelineReport>(join(dir, "report.json"));
  if (!report.finished || !report.table6) throw new Error(`${dir}: the pipeline has not finished`);
  const rejection = report.stages.find((s) => s.stage === "rejection")!;
  const rs = json<{ metrics: Record<string, number>; acceptance: Record<string, unknown> }>(join(rejection.dir, "summary.json"));
  const params = (stage: string) => json<{ params: number }>(join(report.stages.find((s) => s.stage === stage)!.dir, "summary.json")).params;
  if (name === ship) {
    const to = join("data/reports", name);
    mkdirSync(to, { recursive: true });
    copyFileSync(join(dir, "report.json"), join(to, "report.json"));
    copyFileSync(join(dir, "report.md"), join(to, "report.md"));
    copyFileSync(join(rejection.dir, "traces.jsonl"), `data/traces/teacher-${name}.jsonl`);
    const samples = readFileSync(join(rejection.dir, "samples.jsonl"), "utf8").trim().split("\n");
    const byLevel = new Map<number, string[]>();
    for (const l of samples) {
      const level = (JSON.parse(l) as { level: number }).level;
      const list = byLevel.get(level) ?? [];
      if (list.length < SAMPLES_PER_LEVEL) list.push(l);
      byLevel.set(level, list);
    }
    writeFileSync(`data/traces/teacher-${name}-samples.jsonl`, [...byLevel.values()].flat().join("\n") + "\n");
    copyFileSync(join(rejection.dir, "summary.json"), `data/traces/teacher-${name}.json`);
    console.log(`shipped ${to}/report.{json,md} and data/traces/teacher-${name}{.jsonl,-samples.jsonl,.json}`);
  }
  return {
    name, command: report.command, wall_s: Math.round(report.totals.wall_s * 10) / 10,
    teacher_params: params("grpo"), student_params: params("distill"),
    metrics: { ...report.table6, ...Object.fromEntries(Object.entries(rs.metrics).filter(([k]) => k.startsWith("acceptance_rate_L"))), traces: rs.metrics.traces!, kept_with_flawed_steps: rs.metrics.kept_with_flawed_steps! },
    stages: report.stages.map((s) => ({ stage: s.stage, command: s.command, wall_s: s.wall_s, tokens: s.tokens, flops: s.flops, given: s.given })),
  };
});
mkdirSync("data/results", { recursive: true });
writeFileSync(file, JSON.stringify({ runs, claims: previous.claims ?? [] }, null, 2) + "\n");
console.log(`wrote ${file} (${runs.length} runs)`);

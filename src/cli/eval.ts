// r1-lab eval --from DIR: score a model on held-out problems of every level, with
// and without thinking (src/eval/evaluate.ts). Seeded: the same command gives the
// same numbers on the same backend.
import { readConfig, readModel } from "../io/run-record-node.js";
import { GPT, type GPTConfig } from "../nn/gpt.js";
import { DEFAULT_EVAL_CONFIG, budgetSweep, evaluate, reportWithoutSamples, type BudgetPoint, type EvalConfig, type EvalReport } from "../eval/index.js";
import { MAX_LEVEL, MIN_LEVEL, parseSplit } from "../tasks/index.js";
import { Engine } from "../tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport } from "../tensor/create.js";
import { loadModelTensors } from "../train/checkpoint.js";
import { COMMON_OPTIONS, UsageError, choiceFlag, intFlag, parse } from "./args.js";
import { Progress } from "./progress.js";

export const EVAL_USAGE = `usage: r1-lab eval --from DIR [flags]
  --levels 1-5           levels to score (a range "2-4" or a list "1,3,5"; default 1-5)
  --k 1,4,16             the k of pass@k and maj@k; max(k) samples per problem (default 1,4,16)
  --problems N           held-out problems per level (default ${DEFAULT_EVAL_CONFIG.problemsPerLevel})
  --temperature T        for the k samples (default ${DEFAULT_EVAL_CONFIG.temperature}; greedy accuracy is always measured too)
  --top-p P              nucleus sampling (default ${DEFAULT_EVAL_CONFIG.topP})
  --split heldout|val    which problems (default heldout)
  --batch N              sequences generated at once (default ${DEFAULT_EVAL_CONFIG.batchSize})
  --max-tokens N         cap on new tokens per completion (default ${DEFAULT_EVAL_CONFIG.maxNewTokens})
  --budget 0,8,16,32     also greedy accuracy with the thinking cut at each budget B (tokens of thought)
  --seed N  --backend auto|webgpu|cpu  --json`;

/** "1-5" or "1,3,5" → [1, …]; every level must exist. */
export function parseLevels(text: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(text.trim());
  const levels = range
    ? Array.from({ length: Math.max(0, Number(range[2]) - Number(range[1]) + 1) }, (_, i) => Number(range[1]) + i)
    : text.split(",").map((s) => Number(s.trim()));
  if (levels.length === 0 || levels.some((l) => !Number.isInteger(l) || l < MIN_LEVEL || l > MAX_LEVEL)) {
    throw new UsageError(`--levels must be levels ${MIN_LEVEL}–${MAX_LEVEL} as "1-5" or "1,3,5", got "${text}"`);
  }
  return levels;
}

function numberFlag(name: string, value: string | undefined, fallback: number, ok: (x: number) => boolean, what: string): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!ok(x)) throw new UsageError(`--${name} must be ${what}, got "${value}"`);
  return x;
}

export async function evalCommand(argv: string[], print: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    levels: { type: "string" }, k: { type: "string" }, problems: { type: "string" },
    temperature: { type: "string" }, "top-p": { type: "string" }, split: { type: "string" },
    batch: { type: "string" }, "max-tokens": { type: "string" }, budget: { type: "string" },
  });
  if (values.help) {
    print(EVAL_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.from) throw new UsageError("--from DIR is required (a run directory with model.safetensors and config.json)");
  const d = DEFAULT_EVAL_CONFIG;
  let split = d.split;
  try {
    if (values.split !== undefined) split = parseSplit(values.split);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const config: EvalConfig = {
    levels: values.levels === undefined ? d.levels : parseLevels(values.levels),
    ks: values.k === undefined ? d.ks : values.k.split(",").map((s) => intFlag("k", s.trim(), 1, 1)),
    problemsPerLevel: intFlag("problems", values.problems, d.problemsPerLevel, 1),
    temperature: numberFlag("temperature", values.temperature, d.temperature, (x) => x >= 0 && Number.isFinite(x), "a number ≥ 0"),
    topP: numberFlag("top-p", values["top-p"], d.topP, (x) => x > 0 && x <= 1, "in (0, 1]"),
    seed: intFlag("seed", values.seed, d.seed),
    split,
    batchSize: intFlag("batch", values.batch, d.batchSize, 1),
    maxNewTokens: intFlag("max-tokens", values["max-tokens"], d.maxNewTokens, 1),
  };
  const budgets = values.budget === undefined ? [] : values.budget.split(",").map((s) => intFlag("budget", s.trim(), 0, 0));
  const backendKind = choiceFlag("backend", values.backend, BACKEND_KINDS, "auto");
  const saved = (await readConfig(values.from)) as { model?: GPTConfig };
  if (!saved.model) throw new Error(`${values.from}/config.json has no "model" section`);
  const { backend, fallbackReason } = await createBackendWithReport(backendKind);
  if (fallbackReason) process.stderr.write(`note: using the CPU engine: ${fallbackReason}\n`);
  try {
    const model = new GPT(new Engine(backend), saved.model, 0);
    loadModelTensors(model, (await readModel(values.from)).tensors);
    let progress: Progress | null = null;
    const report = await evaluate(model, config, (done, total) => {
      progress ??= new Progress(total, `eval (${backend.name}) sequences`);
      progress.update(done);
    });
    let budget: BudgetPoint[] | undefined;
    if (budgets.length > 0) {
      let bar: Progress | null = null;
      budget = await budgetSweep(model, { ...config, budgets }, (done, total) => {
        bar ??= new Progress(total, "thinking budgets");
        bar.update(done);
      });
    }
    model.dispose();
    const command = ["r1-lab", "eval", ...argv].join(" ");
    if (values.json) print(JSON.stringify({ command, backend: backend.name, ...(reportWithoutSamples(report) as object), ...(budget ? { budget } : {}) }, null, 2));
    else print(table(report) + (budget ? "\n\n" + budgetTable(budget) : ""));
    return 0;
  } finally {
    backend.destroy();
  }
}

/** Accuracy against the thinking budget. */
function budgetTable(points: readonly BudgetPoint[]): string {
  const rows = points.map((p) => `${String(p.budget).padStart(6)} ${`${(100 * p.accuracy).toFixed(0)}%`.padStart(8)} ${p.mean_think_tokens.toFixed(1).padStart(8)} ${`${(100 * p.forced_rate).toFixed(0)}%`.padStart(8)}`);
  return [`${"budget".padStart(6)} ${"accuracy".padStart(8)} ${"thought".padStart(8)} ${"cut".padStart(8)}`, ...rows].join("\n");
}

/** A plain-text table: one row per level. */
function table(r: EvalReport): string {
  const pct = (x: number | undefined): string => (x === undefined ? "" : `${(x * 100).toFixed(0)}%`).padStart(6);
  const ks = r.config.ks;
  const head = ["level", "think", "no-think", "format", ...ks.flatMap((k) => [`pass@${k}`, `maj@${k}`]), "tokens"];
  const rows = r.levels.map((l) => [
    String(l.level).padStart(6), pct(l.think.accuracy), pct(l.no_think.accuracy), pct(l.think.format_rate),
    ...ks.flatMap((k) => [pct(l.think.pass_at_k[k]), pct(l.think.maj_at_k[k])]),
    l.think.mean_completion_tokens.toFixed(1).padStart(6),
  ]);
  return [head.map((h) => h.padStart(6)).join(" "), ...rows.map((row) => row.join(" "))].join("\n");
}

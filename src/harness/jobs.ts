// The job contract: what every trainable thing a lesson runs looks like.
//
// A job is an async generator (config, backend) → records. Each record is one
// logged step, `{ step, loss, ...stage-specific numbers }`: exactly the objects the
// CLI writes, one per line, to metrics.jsonl. Pages, CLI and tests consume that one
// stream. The harness runs jobs in a Worker and pulls one record at a time, which is
// what makes Pause and Step exact: a job only advances when asked for the next record.
//
// A job may also draw pictures that are not metrics through an optional third
// argument, a JobContext (the page shows them; the CLI passes nothing).
//
// A job also declares its hyperparameters (for the inputs and their validation), its
// presets (at least `default`, what the page starts with, and `ci`, small enough for
// a software adapter in the tests) and which record fields to chart.
import type { Backend } from "../tensor/backend.js";
import type { TensorMap } from "../io/safetensors.js";

export type ParamValue = number | string | boolean;

/** Every job's config has a seed and a step count; the rest is the job's own. */
export interface JobConfig {
  seed: number;
  steps: number;
  [key: string]: ParamValue;
}

/** One line of metrics.jsonl. */
export interface MetricRecord {
  step: number;
  loss: number;
  [key: string]: number | string | boolean | null | undefined;
}

export interface ParamSpec {
  key: string;
  label: string;
  kind: "int" | "float" | "choice" | "bool";
  min?: number;
  max?: number;
  /** for "choice" */
  choices?: readonly string[];
  /** one line shown as the input's tooltip */
  help?: string;
}

export interface ChartSpec {
  title: string;
  /** record fields drawn as series */
  keys: readonly string[];
  logY?: boolean;
  smoothing?: number;
}

/**
 * Optional side channel from a job to the page: pictures of the run that are not
 * metrics (a decision boundary, attention maps, samples). The CLI passes none, so a
 * job must work without it; metrics always go through the yielded records.
 */
export interface JobContext {
  emit(view: string, payload: unknown): void;
  /** a saved run's state to continue from (a resumable job only; the page's saved runs) */
  readonly resume?: JobState;
  /**
   * A resumable job hands the harness a way to read its state; the harness calls it
   * between two records (never during a step) to save the run.
   */
  saveable?(read: () => Promise<JobState>): void;
  /**
   * Set when the harness only times a few steps to say how long a run will take. A job
   * whose set-up before the first step takes minutes (RLHF's pairs and reward model) may
   * do a slice of it and report the time the rest would take with skipped(ms).
   */
  readonly timing?: { skipped(ms: number): void };
}

/**
 * What a resumable job needs to continue exactly where it stopped: the weights, the
 * optimiser's moments and the steps taken, the same state the CLI's --resume reads
 * (src/train: PretrainRun/SftRun take it, their checkpoint() gives it). The RNG
 * state and the data-order position are not stored apart: every batch is drawn
 * from (seed, step), so the seed in the config and `step` restore both.
 */
export interface JobState {
  step: number;
  model: TensorMap;
  optimizer: TensorMap;
  /** a frozen reference model (GRPO's KL anchor), when the loop has one */
  reference?: TensorMap;
  /** the few numbers a loop keeps besides its tensors (GRPO: updates taken, accuracy per level for the curriculum) */
  counters?: Record<string, unknown>;
}

export interface JobDef<C extends JobConfig = JobConfig> {
  /** registry key, also the CLI/stage name where there is one */
  name: string;
  title: string;
  description: string;
  /** the hyperparameters a learner may edit (seed and steps are always included by the harness) */
  params: readonly ParamSpec[];
  /** named configurations; must include "default" and "ci" */
  presets: Readonly<Record<string, C>>;
  charts: readonly ChartSpec[];
  /**
   * false for a job whose loss is not a progress signal over a short run: an
   * evaluation (no loss at all), or RL (GRPO's loss hovers near 0 whatever happens).
   * The job contract test then does not ask its ci run's loss to fall. Default true.
   */
  lossFalls?: boolean;
  /** the job can be saved and resumed (it honours JobContext.resume and .saveable) */
  resumable?: boolean;
  /** checks that involve several fields; return a message, or null when fine */
  validate?(config: C): string | null;
  run(config: C, backend: Backend, context?: JobContext): AsyncGenerator<MetricRecord, void, undefined>;
}

export const SEED_PARAM: ParamSpec = {
  key: "seed", label: "seed", kind: "int", min: 0, max: 2 ** 31 - 1,
  help: "same seed + same backend → the same run",
};
export const STEPS_PARAM: ParamSpec = {
  key: "steps", label: "steps", kind: "int", min: 1, max: 1_000_000, help: "training steps to run",
};

/** seed and steps first, then the job's own parameters */
export function allParams(def: JobDef): ParamSpec[] {
  const own = def.params.filter((p) => p.key !== "seed" && p.key !== "steps");
  return [SEED_PARAM, STEPS_PARAM, ...own];
}

export type ValidationResult =
  | { ok: true; config: JobConfig }
  | { ok: false; errors: { key: string; message: string }[] };

/** Parse one input value; returns the value or a message saying what is wrong. */
export function parseParam(spec: ParamSpec, raw: unknown): { value: ParamValue } | { error: string } {
  const shown = typeof raw === "string" ? JSON.stringify(raw) : String(raw);
  switch (spec.kind) {
    case "bool": {
      if (typeof raw === "boolean") return { value: raw };
      if (raw === "true" || raw === "false") return { value: raw === "true" };
      return { error: `${spec.label} must be true or false (got ${shown})` };
    }
    case "choice": {
      const choices = spec.choices ?? [];
      if (typeof raw === "string" && choices.includes(raw)) return { value: raw };
      return { error: `${spec.label} must be one of ${choices.join(", ")} (got ${shown})` };
    }
    case "int":
    case "float": {
      const text = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw.trim() : "";
      const v = text === "" ? NaN : Number(text);
      const range = rangeText(spec);
      if (!Number.isFinite(v)) return { error: `${spec.label} must be ${spec.kind === "int" ? "a whole number" : "a number"}${range} (got ${shown || "nothing"})` };
      if (spec.kind === "int" && !Number.isInteger(v)) return { error: `${spec.label} must be a whole number${range} (got ${shown})` };
      if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
        return { error: `${spec.label} must be${range} (got ${shown})` };
      }
      return { value: v };
    }
  }
}

function rangeText(spec: ParamSpec): string {
  const f = (v: number) => (Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential() : String(v));
  if (spec.min !== undefined && spec.max !== undefined) return ` between ${f(spec.min)} and ${f(spec.max)}`;
  if (spec.min !== undefined) return ` ≥ ${f(spec.min)}`;
  if (spec.max !== undefined) return ` ≤ ${f(spec.max)}`;
  return "";
}

/** Validate raw input values (strings from inputs, or numbers) against a job's parameters. */
export function validateConfig(def: JobDef, raw: Readonly<Record<string, unknown>>): ValidationResult {
  const errors: { key: string; message: string }[] = [];
  const base = def.presets["default"];
  const config: Record<string, ParamValue> = { ...(base ?? {}) };
  for (const spec of allParams(def)) {
    if (!(spec.key in raw)) {
      if (base && spec.key in base) continue;
      errors.push({ key: spec.key, message: `${spec.label} is missing` });
      continue;
    }
    const r = parseParam(spec, raw[spec.key]);
    if ("error" in r) errors.push({ key: spec.key, message: r.error });
    else config[spec.key] = r.value;
  }
  if (errors.length) return { ok: false, errors };
  const full = config as JobConfig;
  const cross = def.validate?.(full) ?? null;
  if (cross) return { ok: false, errors: [{ key: "", message: cross }] };
  return { ok: true, config: full };
}

/** Check a job definition itself (used by the registry and the tests). */
export function checkJobDef(def: JobDef): string[] {
  const problems: string[] = [];
  for (const p of ["default", "ci"]) if (!def.presets[p]) problems.push(`${def.name}: missing preset "${p}"`);
  for (const [name, preset] of Object.entries(def.presets)) {
    const r = validateConfig(def, preset);
    if (!r.ok) problems.push(`${def.name}: preset "${name}" is invalid: ${r.errors.map((e) => e.message).join("; ")}`);
  }
  return problems;
}

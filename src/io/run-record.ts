// The run record (DESIGN.md "Contracts"): what every training run leaves in its
// --out directory, so a page, a test or a person can inspect it afterwards.
//
//   metrics.jsonl      one JSON object per logged step: step, loss, stage fields
//   summary.json       command, stage, preset, seed, backend, adapter, wall_s,
//                      params, metrics (flat final numbers), and anything extra
//   config.json        the model/training configuration
//   model.safetensors  the weights (see safetensors.ts)
//
// This file holds the format rules and works anywhere (browser included);
// run-record-node.ts reads and writes the files with Node's fs.

export const RUN_FILES = {
  metrics: "metrics.jsonl",
  summary: "summary.json",
  config: "config.json",
  model: "model.safetensors",
  /** AdamW's moments, so a stopped run can resume exactly */
  optimizer: "optimizer.safetensors",
  /** RL stages: the frozen reference policy the KL penalty anchors to */
  reference: "reference.safetensors",
} as const;

/** a per-step vector or table of numbers, e.g. an MoE model's tokens per expert, per layer */
export type MetricArray = readonly number[] | readonly (readonly number[])[];
export type MetricValue = number | string | boolean | null | MetricArray;

/** an array of finite numbers, or of such arrays (one level deep) */
function isMetricArray(v: unknown): v is MetricArray {
  const finite = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  return Array.isArray(v) && v.every((x) => finite(x) || (Array.isArray(x) && x.every(finite)));
}

/** One line of metrics.jsonl. */
export interface MetricsRecord {
  readonly step: number;
  /** null when the loss was not finite (JSON has no NaN) */
  readonly loss: number | null;
  readonly [field: string]: MetricValue;
}

/** summary.json. Extra fields are allowed (e.g. "config", "heldout_by_level"). */
export interface RunSummary {
  readonly command: string;
  readonly stage: string;
  readonly preset: string;
  readonly seed: number;
  readonly backend: string;
  readonly adapter: string;
  readonly wall_s: number;
  readonly params: number;
  /** flat final numbers, e.g. { val_loss: 1.23, heldout_accuracy: 0.78 } */
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly [extra: string]: unknown;
}

const SUMMARY_FIELDS: Record<string, "string" | "number"> = {
  command: "string",
  stage: "string",
  preset: "string",
  seed: "number",
  backend: "string",
  adapter: "string",
  wall_s: "number",
  params: "number",
};

/** NaN and ±Infinity become null, since JSON cannot hold them. */
function jsonSafe(value: MetricValue): MetricValue {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}

/** A metrics record as one JSON line (with the trailing newline). */
export function formatMetricsLine(record: MetricsRecord): string {
  if (!Number.isInteger(record.step) || record.step < 0) {
    throw new Error(`metrics: "step" must be a whole number ≥ 0, got ${String(record.step)}`);
  }
  if (!Object.hasOwn(record, "loss")) throw new Error(`metrics: record for step ${record.step} has no "loss"`);
  const out: Record<string, MetricValue> = {};
  for (const [key, value] of Object.entries(record)) {
    const t = typeof value;
    if (value !== null && t !== "number" && t !== "string" && t !== "boolean" && !isMetricArray(value)) {
      throw new Error(
        `metrics: field "${key}" at step ${record.step} must be a number, string, boolean, null or an array of finite numbers (or of such arrays), got ${Array.isArray(value) ? "another array" : t}`,
      );
    }
    out[key] = jsonSafe(value);
  }
  return JSON.stringify(out) + "\n";
}

/**
 * Parses metrics.jsonl. A run killed mid-write can leave a cut-off last line
 * with no newline; that line is dropped. Any other bad line is an error naming it.
 */
export function parseMetricsJsonl(text: string): MetricsRecord[] {
  const lines = text.split("\n");
  const records: MetricsRecord[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === "") return;
    const isUnterminatedLast = index === lines.length - 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (isUnterminatedLast) return;
      throw new Error(`metrics.jsonl line ${index + 1} is not valid JSON: ${line.slice(0, 80)}`);
    }
    if (typeof value !== "object" || value === null || typeof (value as { step?: unknown }).step !== "number") {
      throw new Error(`metrics.jsonl line ${index + 1} is not an object with a numeric "step"`);
    }
    records.push(value as MetricsRecord);
  });
  return records;
}

/** Returns the value as a RunSummary, or throws listing every missing/wrong field. */
export function validateSummary(value: unknown): RunSummary {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("summary must be a JSON object");
  }
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const [field, type] of Object.entries(SUMMARY_FIELDS)) {
    if (!(field in record)) problems.push(`missing "${field}"`);
    else if (typeof record[field] !== type) problems.push(`"${field}" must be a ${type}, got ${JSON.stringify(record[field])}`);
  }
  const metrics = record.metrics;
  if (typeof metrics !== "object" || metrics === null || Array.isArray(metrics)) {
    problems.push(`"metrics" must be a flat object of numbers`);
  } else {
    for (const [key, v] of Object.entries(metrics)) {
      if (v !== null && typeof v !== "number") problems.push(`metrics.${key} must be a number or null, got ${JSON.stringify(v)}`);
    }
  }
  if (problems.length > 0) throw new Error(`summary.json is invalid: ${problems.join("; ")}`);
  return value as RunSummary;
}

/** summary.json text (validated; non-finite metrics written as null). */
export function formatSummary(summary: RunSummary): string {
  validateSummary(summary);
  const metrics = Object.fromEntries(Object.entries(summary.metrics).map(([k, v]) => [k, jsonSafe(v)]));
  return JSON.stringify({ ...summary, metrics }, null, 2) + "\n";
}

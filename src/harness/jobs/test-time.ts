// The Test-time compute lesson's live measurement: a shipped model answers held-out
// problems every way the lesson compares (src/eval/test-time.ts), one problem per
// step, levels in turn. Nothing is trained: a step is one problem scored, so `steps`
// is how many problems to score — the learner's knob for a slow machine.
//
// Records: one per problem, the running accuracies so far (think, no_think, maj@k for
// the largest k, pass@1) and ms_per_step; `loss` is 0 (an evaluation has none).
// Views: "summary" after every problem: the running TestTimeSummary, for the page's
// self-consistency, budget and compute charts.
import type { Backend } from "../../tensor/backend.js";
import { Engine } from "../../tensor/engine.js";
import { GPT } from "../../nn/gpt.js";
import { evalProblems } from "../../eval/evaluate.js";
import { measureProblem, summarize, type ProblemMeasure, type TestTimeSummary } from "../../eval/test-time.js";
import { loadModelTensors } from "../../train/checkpoint.js";
import { PRETRAIN_PRESETS } from "../../train/presets.js";
import type { JobConfig, JobContext, JobDef, MetricRecord } from "../jobs.js";
import { fetchCheckpoint } from "./pretrain.js";

export const TEST_TIME_MODELS = ["shipped SFT", "shipped GRPO"] as const;

export interface TestTimeJobConfig extends JobConfig {
  model: (typeof TEST_TIME_MODELS)[number];
  /** samples per problem for pass@k and maj@k (k = 1, 2, 4, … up to this) */
  samples: number;
  temperature: number;
  sftCheckpointUrl: string;
  grpoCheckpointUrl: string;
}

/** the thinking budgets every run measures (tokens of thought) */
export const BUDGETS = [0, 8, 16, 24, 32, 48, 64];

export function kSweep(samples: number): number[] {
  const ks: number[] = [];
  for (let k = 1; k <= samples; k *= 2) ks.push(k);
  return ks;
}

const base = { seed: 1, model: "shipped SFT" as const, temperature: 0.6, sftCheckpointUrl: "", grpoCheckpointUrl: "" };
export const TEST_TIME_PRESETS: Record<string, TestTimeJobConfig> = {
  /** 20 problems (4 per level), 16 samples each: a couple of minutes on a laptop's CPU engine */
  default: { ...base, steps: 20, samples: 16 },
  /** 50 problems, 32 samples: closer to the recorded numbers, several times longer */
  "more problems": { ...base, steps: 50, samples: 32 },
  ci: { ...base, steps: 2, samples: 4 },
};

/** the i-th problem scored: levels 1–5 in turn, the held-out problems evaluate() uses */
export function problemAt(i: number) {
  const level = (i % 5) + 1;
  const index = Math.floor(i / 5);
  return evalProblems({ split: "heldout", problemsPerLevel: index + 1, seed: 1 }, level)[index]!;
}

async function* runTestTime(c: TestTimeJobConfig, backend: Backend, context?: JobContext): AsyncGenerator<MetricRecord, void, undefined> {
  const engine = new Engine(backend);
  const model = new GPT(engine, PRETRAIN_PRESETS.default.model, 1);
  loadModelTensors(model, await fetchCheckpoint(c.model === "shipped GRPO" ? c.grpoCheckpointUrl : c.sftCheckpointUrl));
  const ks = kSweep(c.samples);
  const measured: ProblemMeasure[] = [];
  try {
    for (let i = 0; i < c.steps; i++) {
      const started = performance.now();
      measured.push(await measureProblem(model, problemAt(i), { budgets: BUDGETS, samples: c.samples, temperature: c.temperature, topP: 0.95, seed: c.seed }));
      const s: TestTimeSummary = summarize(measured, ks);
      context?.emit("summary", s);
      const kMax = ks[ks.length - 1]!;
      yield {
        step: i + 1, loss: 0, think: s.think, no_think: s.no_think, [`maj_at_${kMax}`]: s.maj_at_k[kMax]!, pass_at_1: s.pass_at_k[1]!,
        ms_per_step: performance.now() - started,
      };
    }
  } finally {
    model.dispose();
  }
}

export const testTimeJob: JobDef<TestTimeJobConfig> = {
  name: "test-time",
  title: "Test-time compute on a shipped model",
  description: "Score held-out problems every way: answer at once, think, think within a budget, vote over k samples.",
  params: [
    { key: "model", label: "model", kind: "choice", choices: TEST_TIME_MODELS, help: "the shipped cold-start SFT model, or the shipped GRPO model" },
    { key: "samples", label: "samples per problem", kind: "int", min: 1, max: 64, help: "for pass@k and majority vote; fewer is faster" },
    { key: "temperature", label: "temperature", kind: "float", min: 0.05, max: 2, help: "for the samples (R1 evaluates at 0.6)" },
  ],
  presets: TEST_TIME_PRESETS,
  charts: [{ title: "running accuracy over the problems scored so far", keys: ["no_think", "think", "pass_at_1"] }],
  validate: (c) => (c.samples < 1 ? "at least one sample per problem" : null),
  lossFalls: false, // an evaluation: nothing is trained
  run: runTestTime,
};

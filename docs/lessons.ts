// The course catalog, in pipeline order. One entry per lesson, whether or not its
// page exists yet: observablehq.config.ts lists in the sidebar only the lessons
// whose docs/<slug>.md exists, and the landing page marks the others "coming".
// Adding a lesson: write docs/<slug>.md (see CONTRIBUTING.md); nothing else to edit
// unless the lesson is new to this list.

export interface Lesson {
  /** page file name without .md, and its URL path */
  slug: string;
  /** sidebar name */
  title: string;
  /** one line for the landing page */
  summary: string;
  /** which pipeline stage(s) of the diagram the lesson teaches */
  stages: readonly StageId[];
}

export type StageId =
  | "engine" | "pretrain" | "arch" | "sft" | "grpo" | "rejection" | "distill" | "test-time";

export const LESSONS: readonly Lesson[] = [
  {
    slug: "engine", title: "Engine", stages: ["engine"],
    summary: "Tensors, WGSL kernels and autograd on WebGPU, checked against a CPU twin.",
  },
  {
    slug: "pretrain", title: "Pretrain", stages: ["pretrain"],
    summary: "A tiny GPT learns a synthetic arithmetic “textbook” by next-token prediction.",
  },
  {
    slug: "moe", title: "MoE", stages: ["arch"],
    summary: "DeepSeekMoE: shared + routed experts, and auxiliary-loss-free load balancing.",
  },
  {
    slug: "mla", title: "MLA", stages: ["arch"],
    summary: "Multi-head latent attention: a compressed KV cache with decoupled RoPE.",
  },
  {
    slug: "sft", title: "Cold-start SFT", stages: ["sft"],
    summary: "Fine-tune on well-formed <think>…</think><answer>…</answer> traces.",
  },
  {
    slug: "grpo", title: "GRPO", stages: ["grpo"],
    summary: "Group-relative policy optimisation with rule rewards: accuracy + format.",
  },
  {
    slug: "rlhf", title: "RLHF and reward models", stages: ["grpo"],
    summary: "A learned reward model, RL against it (reward hacking, measured), DPO — and why R1 used rules.",
  },
  {
    slug: "distill", title: "Distillation", stages: ["rejection", "distill"],
    summary: "Rejection-sample the teacher’s correct traces and fine-tune a smaller student.",
  },
  {
    slug: "test-time", title: "Test-time compute", stages: ["test-time"],
    summary: "Self-consistency, chain of thought vs none, and a report card.",
  },
];

/**
 * In the browser: the slugs whose pages were built. The config writes them into
 * every page's <head> (see observablehq.config.ts), so a page never links to a
 * lesson that does not exist.
 */
export function builtLessons(doc: Document = document): Set<string> {
  const el = doc.getElementById("r1-built-lessons");
  if (!el?.textContent) return new Set();
  try {
    const slugs: unknown = JSON.parse(el.textContent);
    return new Set(Array.isArray(slugs) ? slugs.filter((s): s is string => typeof s === "string") : []);
  } catch {
    return new Set();
  }
}

// The probability a model gave each token of a completion it wrote (or was shown):
// one forward pass over prompt + completion, a softmax per position. Trace viewers
// shade tokens by it, so a learner sees where the model was sure and where it guessed.
import type { GPT } from "../nn/gpt.js";

/** p(completion[k] | prompt, completion[<k]) for every k, from one forward pass. */
export async function tokenProbabilities(model: GPT, prompt: readonly number[], completion: readonly number[]): Promise<number[]> {
  if (completion.length === 0) return [];
  if (prompt.length === 0) throw new Error("tokenProbabilities: the prompt must not be empty (start it with BOS)");
  const e = model.engine;
  const V = model.config.vocabSize;
  const seq = [...prompt, ...completion].slice(0, model.config.maxSeqLen + 1);
  const T = seq.length - 1;
  const logits = e.scope(() => e.noGrad(() => model.forward(e.tensor(seq.slice(0, T), [1, T], "i32"))));
  const rows = await logits.data();
  logits.dispose();
  const probs: number[] = [];
  for (let k = 0; k < completion.length && prompt.length - 1 + k < T; k++) {
    const offset = (prompt.length - 1 + k) * V;
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, rows[offset + i]!);
    let z = 0;
    for (let i = 0; i < V; i++) z += Math.exp(rows[offset + i]! - max);
    probs.push(Math.exp(rows[offset + completion[k]!]! - max) / z);
  }
  return probs;
}

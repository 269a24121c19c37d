// SFT data: cold-start traces as padded token batches with a completion-only loss mask.
//
// One example is [BOS, prompt…, completion…, EOS]. The model reads all of it but
// is graded only on the completion: the loss mask is 1 on a target that is a
// completion token (EOS included, so it learns to stop) and 0 on prompt tokens
// (the question is given, not something to imitate) and on padding.
//
//   tokens   <bos> U s e r : 3 7 + 4 8 . A s s i s t a n t :   <think> 3 7 + 4 8 = 8 5 </think> … <eos> <pad> <pad>
//   mask      (the target of each position is the next token)      1  1 1 1 1 1 1 1   1     …   1     0     0
//
// Examples of different lengths share a batch by right padding. Attention is
// causal, so a real token only ever looks left, at its own example's tokens; the
// padding after it is never seen, and its targets are masked out. (We pad rather
// than pack several examples into one row: packed rows would need an attention
// mask that stops one example from seeing the one before it.)
import { PAD_ID, encodeExample, type Trace } from "../tasks/index.js";
import { Rng } from "../tensor/random.js";

export interface SftExample {
  /** [BOS, prompt…, completion…, EOS] */
  ids: readonly number[];
  /** BOS + prompt tokens: the first completion token is ids[promptLength] */
  promptLength: number;
}

export interface SftBatch {
  B: number;
  /** positions per row: the longest example in the batch, minus one */
  T: number;
  ids: Int32Array;
  targets: Int32Array;
  /** 1 where the target is a completion token of a real example */
  mask: Float32Array;
  /** the number of ones in mask: the loss is the mean over these */
  count: number;
}

export function exampleFromTrace(trace: Pick<Trace, "prompt" | "completion">): SftExample {
  return encodeExample(trace.prompt, trace.completion);
}

/** Inputs, next-token targets and the completion-only mask, right-padded to the longest example. */
export function padBatch(examples: readonly SftExample[]): SftBatch {
  const B = examples.length;
  if (B === 0) throw new Error("padBatch: no examples");
  const T = Math.max(...examples.map((x) => x.ids.length)) - 1;
  const ids = new Int32Array(B * T).fill(PAD_ID);
  const targets = new Int32Array(B * T).fill(PAD_ID);
  const mask = new Float32Array(B * T);
  let count = 0;
  examples.forEach((x, b) => {
    for (let t = 0; t < x.ids.length - 1; t++) {
      ids[b * T + t] = x.ids[t]!;
      targets[b * T + t] = x.ids[t + 1]!;
      // position t predicts token t + 1: count it when that token is the completion's
      if (t + 1 >= x.promptLength) {
        mask[b * T + t] = 1;
        count++;
      }
    }
  });
  return { B, T, ids, targets, mask, count };
}

/**
 * The example indices of step `step`: the data is read in epochs, each a fresh
 * seeded shuffle, B examples per step. Depends only on (n, B, seed, step), so a
 * resumed run sees exactly the batches an uninterrupted one would.
 */
export function batchIndices(n: number, B: number, seed: number, step: number): number[] {
  const out: number[] = [];
  let epochOf = -1;
  let order: number[] = [];
  for (let i = step * B; i < (step + 1) * B; i++) {
    const epoch = Math.floor(i / n);
    if (epoch !== epochOf) {
      epochOf = epoch;
      order = shuffled(n, new Rng((seed * 2_654_435_761 + epoch * 97_531) >>> 0));
    }
    out.push(order[i % n]!);
  }
  return out;
}

function shuffled(n: number, rng: Rng): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

// The pretraining data: the textbook as one long stream of token ids, cut into
// random windows. A fixed tenth of its lines (chosen by a hash of the line, so
// the choice never depends on the seed) is kept aside to measure validation loss.
import { BOS_ID, encode, fnv1a32, makeTextbookLines, DEFAULT_CORPUS_OPTIONS, vocabSize } from "../tasks/index.js";
import { Rng } from "../tensor/random.js";

export interface TextData {
  train: Int32Array;
  val: Int32Array;
  /** add-one-smoothed token frequencies of the training stream */
  unigram: Float64Array;
}

/** Lines whose hash falls in the first 10 of 100 buckets are validation lines. */
export function isValidationLine(line: string): boolean {
  return fnv1a32(line) % 100 < 10;
}

export function loadTextbook(lines: readonly string[] = makeTextbookLines(DEFAULT_CORPUS_OPTIONS)): TextData {
  const train: number[] = [];
  const val: number[] = [];
  for (const line of lines) {
    const ids = [BOS_ID, ...encode(line + "\n")];
    (isValidationLine(line) ? val : train).push(...ids);
  }
  const counts = new Float64Array(vocabSize).fill(1);
  for (const t of train) counts[t]!++;
  const total = counts.reduce((a, b) => a + b, 0);
  return { train: Int32Array.from(train), val: Int32Array.from(val), unigram: counts.map((c) => c / total) };
}

/** Cross-entropy (nats/token) of the unigram model on the validation stream: the bar to beat. */
export function unigramLoss(d: TextData): number {
  let s = 0;
  for (const t of d.val) s -= Math.log(d.unigram[t]!);
  return s / d.val.length;
}

/**
 * B random windows of T + 1 tokens: inputs are the first T, targets the last T.
 * The windows of step s depend only on (seed, s), so a resumed run sees the same
 * batches as an uninterrupted one.
 */
export function randomBatch(stream: Int32Array, B: number, T: number, seed: number, step: number): { ids: Int32Array; targets: Int32Array } {
  const rng = new Rng((seed * 1_000_003 + step * 7919) >>> 0);
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = rng.int(stream.length - T - 1);
    ids.set(stream.subarray(start, start + T), b * T);
    targets.set(stream.subarray(start + 1, start + T + 1), b * T);
  }
  return { ids, targets };
}

/** Consecutive, non-overlapping windows covering the validation stream (for a fixed val loss). */
export function validationBatches(stream: Int32Array, B: number, T: number, maxBatches: number): { ids: Int32Array; targets: Int32Array }[] {
  const windows = Math.floor((stream.length - 1) / T);
  const out: { ids: Int32Array; targets: Int32Array }[] = [];
  for (let w = 0; w + B <= windows && out.length < maxBatches; w += B) {
    const ids = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = (w + b) * T;
      ids.set(stream.subarray(start, start + T), b * T);
      targets.set(stream.subarray(start + 1, start + T + 1), b * T);
    }
    out.push({ ids, targets });
  }
  return out;
}

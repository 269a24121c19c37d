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

/** One validation batch: `rows` windows of `T` tokens. */
export interface ValidationBatch {
  ids: Int32Array;
  targets: Int32Array;
  rows: number;
  T: number;
}

/**
 * Consecutive, non-overlapping windows over the validation stream, B to a batch:
 * every token of the stream is predicted exactly once (the last batch may have
 * fewer rows, and a last window shorter than T is a batch of its own), unless
 * `maxBatches` stops it early (a quick page run may ask for fewer).
 */
export function validationBatches(stream: Int32Array, B: number, T: number, maxBatches: number): ValidationBatch[] {
  const predicted = stream.length - 1; // every token but the first is a target
  const windows = Math.floor(predicted / T);
  const out: ValidationBatch[] = [];
  const batchOf = (first: number, rows: number, len: number): ValidationBatch => {
    const ids = new Int32Array(rows * len);
    const targets = new Int32Array(rows * len);
    for (let r = 0; r < rows; r++) {
      const start = first + r * len;
      ids.set(stream.subarray(start, start + len), r * len);
      targets.set(stream.subarray(start + 1, start + len + 1), r * len);
    }
    return { ids, targets, rows, T: len };
  };
  for (let w = 0; w < windows && out.length < maxBatches; w += B) out.push(batchOf(w * T, Math.min(B, windows - w), T));
  const tail = predicted - windows * T;
  if (tail > 0 && out.length < maxBatches) out.push(batchOf(windows * T, 1, tail));
  return out;
}

/** How many of the stream's targets the batches predict (all of them when nothing was cut). */
export function validationTokens(batches: readonly ValidationBatch[]): number {
  return batches.reduce((n, b) => n + b.rows * b.T, 0);
}

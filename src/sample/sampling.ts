// Picking the next token from a row of logits: greedy, temperature, top-k, top-p.
// Runs on the host: a row is one vocabulary (~50 floats here), far too small to be
// worth a kernel, and the token has to come back to the CPU anyway.
import type { Rng } from "../tensor/random.js";

export interface SamplingOptions {
  /** 0 = greedy (argmax) */
  temperature: number;
  /** keep only the k most likely tokens; 0 = all */
  topK: number;
  /** keep the smallest set of tokens whose probability reaches p; 1 = all */
  topP: number;
}

export const GREEDY: SamplingOptions = { temperature: 0, topK: 0, topP: 1 };

export function validateSampling(o: SamplingOptions): void {
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new Error(`temperature must be ≥ 0, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new Error(`topK must be an integer ≥ 0, got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`topP must be in (0, 1], got ${o.topP}`);
}

export function argmax(row: ArrayLike<number>, offset = 0, n = row.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (row[offset + i]! > row[offset + best]!) best = i;
  return best;
}

/** sample one token id from logits[offset .. offset + n) */
export function sampleToken(logits: ArrayLike<number>, offset: number, n: number, o: SamplingOptions, rng: Rng): number {
  if (o.temperature === 0) return argmax(logits, offset, n);
  // probabilities at this temperature, most likely first
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[offset + b]! - logits[offset + a]! || a - b);
  const max = logits[offset + order[0]!]!;
  let keep = o.topK > 0 ? Math.min(o.topK, n) : n;
  const p = new Float64Array(keep);
  let total = 0;
  for (let r = 0; r < keep; r++) total += p[r] = Math.exp((logits[offset + order[r]!]! - max) / o.temperature);
  if (o.topP < 1) {
    let acc = 0;
    for (let r = 0; r < keep; r++) {
      acc += p[r]! / total;
      if (acc >= o.topP) {
        keep = r + 1;
        break;
      }
    }
    total = 0;
    for (let r = 0; r < keep; r++) total += p[r]!;
  }
  let u = rng.next() * total;
  for (let r = 0; r < keep; r++) {
    u -= p[r]!;
    if (u <= 0) return order[r]!;
  }
  return order[keep - 1]!;
}

// What the Pretrain page says about the recorded default run and the shipped model,
// as numbers computed from the recordings themselves. The page prints them (so a
// re-recorded run updates the text), and tests/unit/pretrain-claims.test.ts asserts
// the words around them ("a few dozen steps", "fell at every evaluation", ...) still hold.

/** a curve as the page's data loader gives it: [steps done, value] */
export type Curve = readonly (readonly [number, number])[];

export interface RecordedRunFacts {
  firstLoss: number;
  /** first step whose training loss is below the unigram model's validation loss (null: never) */
  crossesUnigramAt: number | null;
  /** the validation loss went down from each evaluation to the next */
  valFallsEveryEval: boolean;
  /** final validation loss minus final training loss */
  finalGap: number;
  /** how much the training loss fell over the first `window` steps, and the most it fell over any later window */
  firstDrop: number;
  maxLaterDrop: number;
  window: number;
}

export function recordedRunFacts(loss: Curve, val: Curve, unigramValLoss: number, window = 100): RecordedRunFacts {
  if (loss.length < 2 * window || val.length < 2) throw new Error("recordedRunFacts: the recorded curves are too short");
  const at = (i: number) => loss[Math.min(i, loss.length - 1)]![1];
  const drops: number[] = [];
  for (let i = 0; i + window <= loss.length; i += window) drops.push(at(i) - at(i + window - 1));
  return {
    firstLoss: loss[0]![1],
    crossesUnigramAt: loss.find(([, l]) => l < unigramValLoss)?.[0] ?? null,
    valFallsEveryEval: val.every(([, v], i) => i === 0 || v < val[i - 1]![1]),
    finalGap: val[val.length - 1]![1] - loss[loss.length - 1]![1],
    firstDrop: drops[0]!,
    maxLaterDrop: Math.max(...drops.slice(1)),
    window,
  };
}

/**
 * Attention statistics for one head: rows are query positions 1…T−1 (position 0, BOS,
 * can only look at itself). `map` is that head's [T, T] probabilities, row-major.
 */
export function previousTokenStats(map: ArrayLike<number>, T: number): { meanWeight: number; argmaxRows: number; rows: number } {
  let weight = 0, argmaxRows = 0;
  for (let q = 1; q < T; q++) {
    let best = 0;
    for (let k = 1; k <= q; k++) if (map[q * T + k]! > map[q * T + best]!) best = k;
    if (best === q - 1) argmaxRows++;
    weight += map[q * T + q - 1]!;
  }
  return { meanWeight: weight / (T - 1), argmaxRows, rows: T - 1 };
}

/** the `n` key positions a query row gives the most weight, heaviest first */
export function topKeys(map: ArrayLike<number>, T: number, query: number, n: number): number[] {
  const row = Array.from({ length: query + 1 }, (_, k) => k);
  return row.sort((a, b) => map[query * T + b]! - map[query * T + a]!).slice(0, n);
}

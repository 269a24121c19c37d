// The numbers every stage is scored by, from graded samples.
//
// For one problem we draw n samples and count c correct ones.
//   pass@k  the chance that at least one of k samples is right. Drawing exactly k
//           samples and checking is noisy; with n ≥ k samples the unbiased
//           estimator (Chen et al., 2021, the Codex paper) is
//             pass@k = 1 − C(n−c, k) / C(n, k)
//           i.e. one minus the chance that k samples drawn from the n without
//           replacement are all wrong. pass@1 is simply c / n.
//   maj@k   self-consistency (Wang et al., 2022): take the most common answer among
//           k samples and grade only that one. Samples with no readable answer do
//           not vote; a tie goes to the answer that appeared first, so the vote is
//           the same on every run.

/** Unbiased pass@k from n samples of which c are correct (needs k ≤ n). */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 1 || c < 0 || c > n || k < 1) {
    throw new Error(`passAtK: need whole numbers n ≥ 1, 0 ≤ c ≤ n, k ≥ 1; got n=${n} c=${c} k=${k}`);
  }
  if (k > n) throw new Error(`passAtK: k=${k} needs at least k samples, got n=${n}`);
  if (n - c < k) return 1; // every k-subset holds a correct sample
  // C(n−c, k) / C(n, k) = Π_{i=n−c+1}^{n} (1 − k/i): a product of numbers ≤ 1, no huge binomials
  let allWrong = 1;
  for (let i = n - c + 1; i <= n; i++) allWrong *= 1 - k / i;
  return 1 - allWrong;
}

/**
 * The majority answer among `answers` (null = unparseable, ignored); ties go to the
 * answer seen first. Null when no sample has an answer.
 */
export function majorityAnswer(answers: readonly (string | null)[]): string | null {
  const counts = new Map<string, number>(); // a Map iterates in first-seen order
  for (const a of answers) if (a !== null) counts.set(a, (counts.get(a) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [answer, count] of counts) {
    if (count > bestCount) {
      best = answer;
      bestCount = count;
    }
  }
  return best;
}

/** maj@k of one problem: 1 when the majority of the first k answers is the expected one. */
export function majAtK(answers: readonly (string | null)[], expected: string, k: number): number {
  if (k > answers.length) throw new Error(`majAtK: k=${k} but only ${answers.length} samples`);
  return majorityAnswer(answers.slice(0, k)) === expected ? 1 : 0;
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

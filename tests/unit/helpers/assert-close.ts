// Elementwise closeness check with a message that points at the worst element.

import assert from "node:assert/strict";

export interface Tolerance {
  /** absolute tolerance (default 0) */
  atol?: number;
  /** relative tolerance, times |expected| (default 0) */
  rtol?: number;
}

/** |actual − expected| ≤ atol + rtol·|expected| for every element (NaN matches NaN) */
export function assertClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label: string,
): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} ≠ expected ${expected.length}`);
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (a === e) continue;
    const err = Math.abs(a - e);
    const lim = atol + rtol * Math.abs(e);
    if (!(err <= lim)) {
      bad++;
      const excess = Number.isFinite(err) ? err / (lim || Number.MIN_VALUE) : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    const a = actual[worst]!;
    const e = expected[worst]!;
    assert.fail(
      `${label}: ${bad} of ${actual.length} elements differ (atol ${atol}, rtol ${rtol}); ` +
        `worst at [${worst}]: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`,
    );
  }
}

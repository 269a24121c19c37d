import { test } from "node:test";
import assert from "node:assert/strict";
import { majAtK, majorityAnswer, passAtK } from "../../src/eval/metrics.js";

/** pass@k by brute force: the share of all k-subsets of the n samples holding a correct one */
function passAtKByEnumeration(n: number, c: number, k: number): number {
  const samples = Array.from({ length: n }, (_, i) => i < c);
  let hit = 0;
  let all = 0;
  const choose = (start: number, left: number, any: boolean): void => {
    if (left === 0) {
      all++;
      if (any) hit++;
      return;
    }
    for (let i = start; i <= n - left; i++) choose(i + 1, left - 1, any || samples[i]!);
  };
  choose(0, k, false);
  return hit / all;
}

test("pass@k equals the unbiased estimator on hand-made cases", () => {
  assert.equal(passAtK(10, 0, 1), 0);
  assert.equal(passAtK(10, 10, 5), 1);
  assert.equal(passAtK(4, 1, 1), 0.25); // c / n
  assert.ok(Math.abs(passAtK(4, 1, 2) - 0.5) < 1e-12); // 1 − C(3,2)/C(4,2) = 1 − 3/6
  assert.ok(Math.abs(passAtK(5, 2, 2) - 0.7) < 1e-12); // 1 − C(3,2)/C(5,2) = 1 − 3/10
  assert.equal(passAtK(5, 2, 4), 1); // any 4 of 5 include one of the 2 correct
  assert.ok(Math.abs(passAtK(16, 3, 4) - (1 - 715 / 1820)) < 1e-12); // 1 − C(13,4)/C(16,4)
  for (const n of [1, 3, 6, 8]) {
    for (let c = 0; c <= n; c++) {
      for (let k = 1; k <= n; k++) {
        assert.ok(Math.abs(passAtK(n, c, k) - passAtKByEnumeration(n, c, k)) < 1e-12, `n=${n} c=${c} k=${k}`);
      }
    }
  }
  // it is not the naive "1 − (1 − c/n)^k", which samples with replacement
  assert.notEqual(passAtK(4, 1, 2), 1 - (1 - 1 / 4) ** 2);
  assert.throws(() => passAtK(4, 1, 5), /at least k samples/);
  assert.throws(() => passAtK(4, 5, 1));
});

test("majority vote ignores unparseable answers and breaks ties deterministically (first seen wins)", () => {
  assert.equal(majorityAnswer([null, null, "7", null]), "7", "one readable answer beats three unreadable ones");
  assert.equal(majorityAnswer([null, null]), null);
  assert.equal(majorityAnswer([]), null);
  assert.equal(majorityAnswer(["5", "6", "6", "5"]), "5", "2–2 tie: 5 was seen first");
  assert.equal(majorityAnswer(["6", "5", "5", "6"]), "6");
  assert.equal(majorityAnswer(["5", "6", "6"]), "6");
  assert.equal(majAtK(["9", "8", "8", "9", "9"], "8", 3), 1, "the first 3: 8 wins 2–1");
  assert.equal(majAtK(["9", "8", "8", "9", "9"], "8", 5), 0, "all 5: 9 wins 3–2");
  assert.equal(majAtK([null, null, "8"], "8", 3), 1);
  assert.equal(majAtK([null, null, null], "8", 3), 0);
  assert.throws(() => majAtK(["1"], "1", 2));
});

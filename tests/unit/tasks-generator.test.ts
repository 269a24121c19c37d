import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LEVELS,
  MAX_LEVEL,
  MIN_LEVEL,
  type Problem,
  generateMixedProblems,
  generateProblems,
  leaksAnotherSplit,
  levelOf,
  problemFromQuestion,
  solveExpression,
} from "../../src/tasks/arithmetic.js";
import { SPLITS, type Split, parseSplit, splitBucket, splitOf } from "../../src/tasks/splits.js";
import { deriveSeed, fnv1a32, mulberry32, randomInt, shuffleInPlace } from "../../src/tasks/rng.js";

/** An evaluator written independently of solveExpression. */
function evaluate(question: string): number {
  const tokens = question.match(/\d+|[+-]/g) ?? [];
  let total = Number(tokens[0]);
  for (let i = 1; i < tokens.length; i += 2) total += (tokens[i] === "+" ? 1 : -1) * Number(tokens[i + 1]);
  return total;
}

test("mulberry32 is the standard generator and is deterministic", () => {
  const rng = mulberry32(1);
  assert.equal(rng(), 0.6270739405881613);
  assert.equal(rng(), 0.002735721180215478);
  const a = mulberry32(42);
  const b = mulberry32(42);
  for (let i = 0; i < 1000; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
  }
  const r = mulberry32(7);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(randomInt(r, 3, 6));
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6]);
  assert.deepEqual(shuffleInPlace(mulberry32(3), [1, 2, 3, 4, 5]).sort(), [1, 2, 3, 4, 5]);
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c); // published FNV-1a test vector
  assert.notEqual(deriveSeed(1, "a"), deriveSeed(1, "b"));
});

test("generator is deterministic per seed and differs across seeds", () => {
  for (const split of SPLITS) {
    const a = generateProblems({ split, level: 3, count: 200, seed: 5 });
    const b = generateProblems({ split, level: 3, count: 200, seed: 5 });
    const c = generateProblems({ split, level: 3, count: 200, seed: 6 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.map((p) => p.question), c.map((p) => p.question));
  }
});

test("problems are correct: steps chain left to right and end at the answer", () => {
  for (const { level } of LEVELS) {
    for (const p of generateProblems({ split: "train", level, count: 300, seed: 1 })) {
      assert.equal(p.answer, String(evaluate(p.question)), p.question);
      let previous: string | null = null;
      for (const step of p.steps) {
        const [left, result] = step.split("=") as [string, string];
        assert.equal(String(evaluate(left)), result, step);
        if (previous !== null) assert.ok(left.startsWith(previous), `${step} continues from ${previous}`);
        previous = result;
      }
      assert.equal(previous, p.answer);
      assert.ok(Number(p.answer) >= 0);
      assert.equal(p.level, level);
      assert.equal(levelOf(p.question), level);
      assert.match(p.id, new RegExp(`^L${level}-[0-9a-f]{8}$`));
    }
  }
});

test("levels are graded: more terms (steps) or more digits as the level rises", () => {
  const shapeOf = (p: Problem) => ({
    terms: p.question.split(/[+-]/).length,
    digits: Math.max(...p.question.split(/[+-]/).map((n) => n.length)),
    steps: p.steps.length,
  });
  let previous = { terms: 0, digits: 0, steps: -1, chars: 0 };
  for (let level = MIN_LEVEL; level <= MAX_LEVEL; level++) {
    const problems = generateProblems({ split: "train", level, count: 200, seed: 2 });
    const shapes = problems.map(shapeOf);
    const spec = LEVELS[level - 1]!;
    for (const s of shapes) {
      assert.equal(s.terms, spec.terms);
      assert.equal(s.digits, spec.digits);
      assert.equal(s.steps, spec.terms - 1);
    }
    const chars = problems.reduce((n, p) => n + p.steps.join("").length, 0) / problems.length;
    const now = { terms: spec.terms, digits: spec.digits, steps: spec.terms - 1, chars };
    assert.ok(now.terms >= previous.terms && now.digits >= previous.digits, `level ${level} is not easier`);
    assert.ok(now.terms > previous.terms || now.digits > previous.digits, `level ${level} is harder`);
    assert.ok(now.chars > previous.chars, `level ${level} has longer chains of thought`);
    previous = now;
  }
});

test("splits never overlap: thousands per split, intersected", () => {
  for (const level of [2, 4]) {
    const sets = {} as Record<Split, Set<string>>;
    for (const split of SPLITS) {
      const problems = generateProblems({ split, level, count: 3000, seed: 11 });
      assert.equal(problems.length, 3000);
      for (const p of problems) assert.equal(p.split, split);
      sets[split] = new Set(problems.map((p) => p.question));
      assert.equal(sets[split].size, 3000, "unique by default");
    }
    for (const a of SPLITS) {
      for (const b of SPLITS) {
        if (a >= b) continue;
        const overlap = [...sets[a]].filter((q) => sets[b].has(q));
        assert.deepEqual(overlap, [], `level ${level}: ${a} ∩ ${b}`);
      }
    }
  }
});

test("a question's split depends only on the question, never on the seed", () => {
  for (const seed of [1, 2, 99]) {
    for (const p of generateProblems({ split: "heldout", level: 2, count: 300, seed })) {
      assert.equal(splitOf(p.question), "heldout");
      assert.equal(splitOf(` ${p.question.replace("+", " + ")} `), "heldout", "whitespace does not matter");
    }
  }
  // Roughly 80 / 10 / 10 over many questions.
  const counts: Record<Split, number> = { train: 0, val: 0, heldout: 0 };
  for (let a = 10; a < 100; a++) for (let b = 10; b < 100; b++) counts[splitOf(`${a}+${b}`)]++;
  const total = 90 * 90;
  assert.ok(Math.abs(counts.train / total - 0.8) < 0.03, JSON.stringify(counts));
  assert.ok(Math.abs(counts.val / total - 0.1) < 0.03, JSON.stringify(counts));
  assert.ok(Math.abs(counts.heldout / total - 0.1) < 0.03, JSON.stringify(counts));
  assert.ok(splitBucket("37+48") >= 0 && splitBucket("37+48") < 100);
  assert.equal(parseSplit("val"), "val");
  assert.throws(() => parseSplit("test"), /unknown split "test"/);
});

test("training problems never show a val/heldout question in their steps", () => {
  for (const level of [2, 3, 5]) {
    for (const p of generateProblems({ split: "train", level, count: 1000, seed: 3 })) {
      assert.equal(leaksAnotherSplit(p), false);
      for (const step of p.steps) {
        const left = step.split("=")[0] as string;
        if (levelOf(left) !== null) assert.equal(splitOf(left), "train", `${p.question}: ${step}`);
      }
    }
  }
});

test("levelOf, solveExpression and problemFromQuestion", () => {
  assert.equal(levelOf("37+48"), 1);
  assert.equal(levelOf("37 + 48 - 19"), 2);
  assert.equal(levelOf("437+258-119+320-105"), 5);
  assert.equal(levelOf("3+4"), null, "one-digit sums are facts, not questions");
  assert.equal(levelOf("19-85"), null, "totals never go below zero");
  assert.equal(levelOf("37+480"), null, "mixed digit counts");
  assert.equal(levelOf("07+48"), null);
  assert.equal(levelOf("37*48"), null);
  assert.equal(levelOf(""), null);
  assert.deepEqual(solveExpression("37+48-19"), { answer: "66", steps: ["37+48=85", "85-19=66"] });
  const p = problemFromQuestion("37+48-19");
  assert.equal(p.level, 2);
  assert.equal(p.split, splitOf("37+48-19"));
  assert.throws(() => problemFromQuestion("2+2"), /not a question of any level/);
  assert.throws(() => solveExpression("two plus two"), /not an addition\/subtraction chain/);
});

test("bad requests fail clearly", () => {
  assert.throws(() => generateProblems({ split: "train", level: 9, count: 1, seed: 1 }), /unknown level 9/);
  assert.throws(() => generateProblems({ split: "train", level: 1, count: -1, seed: 1 }), /count must be/);
  // Level 1 has ~12k questions, so ~1.2k held out: 5,000 distinct ones cannot exist.
  assert.throws(() => generateProblems({ split: "heldout", level: 1, count: 5000, seed: 1 }), /found only \d+ of 5000 distinct/);
  const repeats = generateProblems({ split: "heldout", level: 1, count: 5000, seed: 1, unique: false });
  assert.equal(repeats.length, 5000);
});

test("generateMixedProblems mixes levels deterministically", () => {
  const mix = generateMixedProblems("train", { 1: 50, 3: 30 }, 4);
  assert.equal(mix.length, 80);
  assert.equal(mix.filter((p) => p.level === 3).length, 30);
  assert.deepEqual(mix, generateMixedProblems("train", { 1: 50, 3: 30 }, 4));
  assert.notDeepEqual(mix.slice(0, 50).map((p) => p.level), Array(50).fill(1), "interleaved");
});

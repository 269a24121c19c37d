import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { LEVELS, generateProblems, levelOf, problemFromQuestion, solveExpression } from "../../src/tasks/arithmetic.js";
import { splitOf } from "../../src/tasks/splits.js";
import { encodeExample, formatPrompt } from "../../src/tasks/template.js";
import {
  DEFAULT_TRACE_OPTIONS,
  GRANULARITIES,
  type Trace,
  checkTrace,
  columnLine,
  makeTraceSet,
  maxTraceTokens,
  traceCompletion,
} from "../../src/tasks/traces.js";
import { verify } from "../../src/tasks/verifier.js";

test("the two granularities, exactly", () => {
  const p = solveExpression("437+258-119"); // not a level's shape, but any chain has a trace
  assert.equal(traceCompletion(p, "steps"), "<think>437+258=695\n695-119=576</think>\n<answer>576</answer>");
  assert.equal(
    traceCompletion(p, "columns"),
    "<think>437+258: 7+8=15 3+5+1=9 4+2=6 so 695\n695-119: 15-9=6 9-1-1=7 6-1=5 so 576</think>\n<answer>576</answer>",
  );
});

test("column lines: final carry, a longer total, borrow through a zero, a zero result", () => {
  assert.equal(columnLine(99, "+", 99), "99+99: 9+9=18 9+9+1=19 so 198");
  assert.equal(columnLine(1998, "+", 437), "1998+437: 8+7=15 9+3+1=13 9+4+1=14 1+0+1=2 so 2435");
  assert.equal(columnLine(100, "-", 1 + 10), "100-11: 10-1=9 10-1-1=8 1-0-1=0 so 89");
  assert.equal(columnLine(57, "-", 57), "57-57: 7-7=0 5-5=0 so 0");
  assert.throws(() => columnLine(10, "-", 11), /below zero/);
});

test("every trace of every level and granularity verifies and is well-formed", () => {
  for (const granularity of GRANULARITIES) {
    for (const { level } of LEVELS) {
      for (const split of ["train", "val", "heldout"] as const) {
        for (const p of generateProblems({ split, level, count: 150, seed: 3 })) {
          const completion = traceCompletion(p, granularity);
          assert.deepEqual(checkTrace(p.question, completion, granularity), [], `${granularity} ${p.question}`);
          assert.deepEqual(verify(completion, p.answer), { correct: true, formatOk: true });
          const tokens = encodeExample(formatPrompt(p.question), completion).ids.length;
          assert.ok(tokens <= maxTraceTokens(level, granularity), `${p.question}: ${tokens} tokens`);
        }
      }
    }
  }
});

test("checkTrace catches wrong arithmetic, a skipped step, a wrong carry and a wrong answer", () => {
  const q = "37+48-19";
  const good = traceCompletion(problemFromQuestion(q), "columns");
  assert.deepEqual(checkTrace(q, good, "columns"), []);
  const broken = [
    good.replace("so 85", "so 86"), // wrong line result
    good.replace("3+4+1=8", "3+4=7"), // carry dropped
    good.replace("15-9=6", "5-9=6"), // borrow not shown
    good.replace("<answer>66<", "<answer>67<"), // answer differs from the last line
    good.replace("\n85-19: 15-9=6 8-1-1=6 so 66", ""), // a step skipped
    good.replace("</answer>", ""), // malformed
  ];
  for (const b of broken) {
    assert.notEqual(b, good, "the edit applied");
    assert.ok(checkTrace(q, b, "columns").length > 0, b);
  }
  const steps = traceCompletion(problemFromQuestion(q), "steps");
  assert.deepEqual(checkTrace(q, steps, "steps"), []);
  assert.ok(checkTrace(q, steps.replace("=85", "=84"), "steps").length > 0);
  assert.ok(checkTrace(q, steps.replace("85-19", "85+19"), "steps").length > 0);
  assert.ok(checkTrace(q, steps, "columns").length > 0, "a steps trace is not a columns trace");
});

test("every level's longest trace fits the contexts the presets use (steps ≤ 128, columns ≤ 256)", () => {
  const steps = LEVELS.map((s) => maxTraceTokens(s.level, "steps"));
  const columns = LEVELS.map((s) => maxTraceTokens(s.level, "columns"));
  assert.deepEqual(steps, [43, 57, 71, 85, 103]);
  assert.deepEqual(columns, [63, 105, 147, 188, 243]);
});

for (const granularity of GRANULARITIES) {
  test(`data/traces/cold-start-${granularity}.jsonl is exactly what its recorded command makes`, () => {
    const name = `../../data/traces/cold-start-${granularity}`;
    const text = readFileSync(new URL(`${name}.jsonl`, import.meta.url), "utf8");
    const note = JSON.parse(readFileSync(new URL(`${name}.json`, import.meta.url), "utf8")) as {
      command: string; options: { seed: number; perLevel: number[] }; sha256: string; traces: number;
    };
    assert.equal(note.sha256, createHash("sha256").update(text).digest("hex"));
    assert.match(note.command, new RegExp(`^node --import tsx scripts/make-traces\\.ts --granularity ${granularity} --seed 1 `));
    const made = makeTraceSet({ ...DEFAULT_TRACE_OPTIONS, ...note.options, granularity });
    assert.equal(text, made.map((t) => JSON.stringify(t)).join("\n") + "\n");
    const traces = text.trim().split("\n").map((l) => JSON.parse(l) as Trace);
    assert.equal(traces.length, note.traces);
    assert.ok(traces.length >= 1000 && traces.length <= 5000, `${traces.length} traces: R1's "thousands", in miniature`);
    for (const { level } of LEVELS) assert.ok(traces.filter((t) => t.level === level).length >= 100, `level ${level}`);
    // train split only, and no step shows a val/held-out question
    for (const t of traces) {
      assert.equal(splitOf(t.question), "train");
      assert.equal(levelOf(t.question), t.level);
      for (const m of t.completion.matchAll(/(\d+)([+-])(\d+)(?=[=:])/g)) {
        const shown = `${m[1]}${m[2]}${m[3]}`;
        if (levelOf(shown) !== null) assert.equal(splitOf(shown), "train", `${t.question} shows ${shown}`);
      }
      assert.deepEqual(checkTrace(t.question, t.completion, granularity), []);
    }
  });
}

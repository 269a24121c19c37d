// Interrupted CLI runs (issue 17): Ctrl-C (SIGINT) at a random step saves a checkpoint and
// `--resume DIR` finishes the run with the same losses as an uninterrupted one and no
// duplicate steps; lines a killed run wrote past its last checkpoint are not duplicated.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, cli } from "./helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "r1lab-resume-"));
const lines = (d: string) => readFileSync(join(d, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss: number });
const ARGS = ["train", "pretrain", "--preset", "ci", "--backend", "cpu", "--seed", "3", "--steps", "40"];

/** Starts a run, sends SIGINT once metrics.jsonl has `after` lines, and resolves with its exit code and output. */
function interruptAt(out: string, after: number): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn("node", [BIN, ...ARGS, "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (b) => (stdout += b));
    const poll = setInterval(() => {
      const path = join(out, "metrics.jsonl");
      if (existsSync(path) && readFileSync(path, "utf8").trim().split("\n").filter(Boolean).length >= after) {
        clearInterval(poll);
        child.kill("SIGINT");
      }
    }, 20);
    child.on("exit", (code) => {
      clearInterval(poll);
      resolve({ code, stdout });
    });
  });
}

test("SIGINT at a random step saves; --resume finishes with the uninterrupted run's losses, no duplicate steps", { timeout: 300_000 }, async () => {
  const full = join(dir, "full");
  const a = await cli([...ARGS, "--out", full]);
  assert.equal(a.code, 0, a.stderr);
  const at = 3 + Math.floor(Math.random() * 25);
  const cut = join(dir, "cut");
  const stopped = await interruptAt(cut, at);
  assert.equal(stopped.code, 130, stopped.stdout);
  const m = /stopped by SIGINT after step (\d+), checkpoint saved; continue with --resume /.exec(stopped.stdout);
  assert.ok(m, stopped.stdout);
  assert.ok(Number(m[1]) >= at && Number(m[1]) < 40, `stopped at ${m[1]} (signal after ${at} lines)`);
  const r = await cli([...ARGS, "--resume", cut]);
  assert.equal(r.code, 0, r.stderr);
  const want = lines(full);
  const got = lines(cut);
  assert.deepEqual(got.map((l) => l.step), want.map((l) => l.step), "every step once, in order");
  got.forEach((l, i) => assert.ok(Math.abs(l.loss - want[i]!.loss) < 1e-5, `step ${i}: ${l.loss} vs ${want[i]!.loss} (interrupted after ${m[1]})`));
});

test("lines written after the last checkpoint by a killed run are dropped on resume, not duplicated", { timeout: 300_000 }, async () => {
  const out = join(dir, "killed");
  const h = await cli([...ARGS, "--stop-after", "10", "--out", out]);
  assert.equal(h.code, 0, h.stderr);
  // what a run killed outright between checkpoints leaves behind: steps past the checkpoint, the last one cut short
  appendFileSync(join(out, "metrics.jsonl"), `{"step":10,"loss":9.9}\n{"step":11,"loss":9.9}\n{"step":12,"lo`);
  const r = await cli([...ARGS, "--resume", out]);
  assert.equal(r.code, 0, r.stderr);
  const got = lines(out);
  assert.deepEqual(got.map((l) => l.step), Array.from({ length: 40 }, (_, i) => i));
  assert.ok(got.every((l) => l.loss !== 9.9), "the stale lines are gone");
});

test("--resume contradicting --from or --out is refused", async () => {
  const r = await cli([...ARGS, "--resume", join(dir, "a"), "--out", join(dir, "b")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--resume .* contradicts it/);
});

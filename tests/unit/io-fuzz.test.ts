// Bad files never crash or hang (issue 17): the safetensors reader, the run-record
// readers and the checkpoint loader, fed thousands of seeded corruptions of good files.
// Each case either reads back something well formed or fails with an Error whose
// message names the problem ("safetensors: …", "metrics.jsonl …", …) — never a
// TypeError or RangeError from deep inside, and never an allocation beyond the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeSafetensors, encodeSafetensors, type TensorMap } from "../../src/io/safetensors.js";
import { parseMetricsJsonl, validateSummary } from "../../src/io/run-record.js";
import { CpuBackend } from "../../src/cpu/index.js";
import { GPT, type GPTConfig } from "../../src/nn/gpt.js";
import { Engine } from "../../src/tensor/engine.js";
import { loadModelTensors, modelTensors } from "../../src/train/checkpoint.js";
import { mulberry32 } from "../../src/tasks/index.js";
import { vocabSize } from "../../src/tasks/index.js";

const rng = mulberry32(20261202);
const int = (n: number) => Math.floor(rng() * n);

function good(): Uint8Array {
  const tensors: TensorMap = {
    "a.weight": { dtype: "F32", shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) },
    "b.ids": { dtype: "I32", shape: [5], data: Int32Array.from([1, 2, 3, 4, 5]) },
    empty: { dtype: "F32", shape: [0, 2], data: new Float32Array(0) },
  };
  return encodeSafetensors(tensors, { stage: "test" });
}

/** One corruption of a good file, chosen by the seeded generator. */
function corrupt(bytes: Uint8Array): Uint8Array {
  const b = new Uint8Array(bytes);
  const headerLength = Number(new DataView(b.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(b.subarray(8, 8 + headerLength));
  const withHeader = (text: string, data = b.subarray(8 + headerLength)) => {
    const h = new TextEncoder().encode(text);
    const out = new Uint8Array(8 + h.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    out.set(data, 8 + h.length);
    return out;
  };
  switch (int(10)) {
    case 0: return b.subarray(0, int(b.length)); // truncated anywhere
    case 1: { // random bytes flipped anywhere
      for (let i = 0, n = 1 + int(8); i < n; i++) b[int(b.length)] ^= 1 << int(8);
      return b;
    }
    case 2: { // header length field: huge, zero, off by some
      const v = [0n, 1n, 2n ** 63n, 2n ** 64n - 1n, BigInt(headerLength + 1 + int(50)), BigInt(Math.max(0, headerLength - 1 - int(50)))][int(6)]!;
      new DataView(b.buffer).setBigUint64(0, v, true);
      return b;
    }
    case 3: { // non-UTF-8 bytes in the header
      b[8 + int(headerLength)] = 0xff;
      return b;
    }
    case 4: return withHeader("[".repeat(1 + int(200_000)) + "]".repeat(int(3))); // deeply nested, unbalanced JSON
    case 5: { // a field of one tensor replaced by something wrong
      const h = JSON.parse(header) as Record<string, Record<string, unknown>>;
      const name = ["a.weight", "b.ids", "empty"][int(3)]!;
      const bad: unknown[] = [null, -1, 1.5, "x", [], {}, [1e300], [2 ** 53, 2 ** 53], [-4, 8], [0, 2 ** 40], "F64", "BF16", [1e9, 1e9, 1e9]];
      const field = ["dtype", "shape", "data_offsets"][int(3)]!;
      h[name]![field] = bad[int(bad.length)];
      return withHeader(JSON.stringify(h));
    }
    case 6: { // two tensors overlapping, or one pointing past the end
      const h = JSON.parse(header) as Record<string, { data_offsets: number[] }>;
      h["b.ids"]!.data_offsets = int(2) ? [0, 20] : [48 + int(1000), 68 + int(1000)];
      return withHeader(JSON.stringify(h));
    }
    case 7: return withHeader(JSON.stringify([null, 1, "s", true, []][int(5)])); // not an object
    case 8: return withHeader(JSON.stringify({ __metadata__: [1, { x: 2 }, "s", null][int(4)] })); // bad metadata
    default: return withHeader(header + " ".repeat(int(5)), b.subarray(8 + headerLength, 8 + headerLength + int(80))); // data cut short
  }
}

test("safetensors: 2,000 corrupted files are each read or refused with a named reason", () => {
  const original = good();
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = corrupt(original);
    try {
      const { tensors } = decodeSafetensors(bytes);
      const total = Object.values(tensors).reduce((s, t) => s + t.data.byteLength, 0);
      assert.ok(total <= bytes.length, `case ${i}: read ${total} bytes of tensors from a ${bytes.length}-byte file`);
      for (const t of Object.values(tensors)) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
    } catch (e) {
      assert.ok(e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError), `case ${i}: ${String(e)}`);
      assert.match(e.message, /^safetensors: \S/, `case ${i}: the reason is named`);
      refused++;
    }
  }
  assert.ok(refused > 1500, `most corruptions are refused (${refused})`);
});

test("the checkpoint loader refuses a file whose tensors do not fit the model, naming them", async () => {
  const e = new Engine(new CpuBackend());
  const config: GPTConfig = { vocabSize, dModel: 8, nLayers: 1, nHeads: 2, nKvHeads: 1, dFF: 16, maxSeqLen: 16, ropeTheta: 10000, tiedHead: true, normEps: 1e-5 };
  const model = new GPT(e, config, 1);
  const weights = await modelTensors(model);
  const names = Object.keys(weights);
  for (let i = 0; i < 300; i++) {
    const t: TensorMap = structuredClone(weights);
    const name = names[int(names.length)]!;
    switch (int(4)) {
      case 0: delete t[name]; break;
      case 1: t[`${name}.extra`] = t[name]!; break;
      case 2: t[name] = { dtype: "F32", shape: [t[name]!.shape[0]! + 1, ...t[name]!.shape.slice(1)], data: new Float32Array(t[name]!.data.length + (t[name]!.shape.slice(1).reduce((a, b) => a * b, 1))) }; break;
      default: t[name] = { dtype: "I32", shape: t[name]!.shape, data: new Int32Array(t[name]!.data.length) };
    }
    const decoded = decodeSafetensors(encodeSafetensors(t)).tensors;
    assert.throws(() => loadModelTensors(model, decoded), (err: Error) => err.message.includes(name.split(".extra")[0]!), `case ${i}`);
  }
  model.dispose();
});

test("run records: corrupted metrics.jsonl and summary.json are refused with a reason, never crash", () => {
  const lines = Array.from({ length: 5 }, (_, s) => JSON.stringify({ step: s, loss: 1 / (s + 1) })).join("\n");
  const summary = JSON.stringify({ command: "r1-lab train", stage: "sft", preset: "ci", seed: 1, backend: "cpu", adapter: "cpu", wall_s: 1, params: 10, metrics: { a: 1 } });
  for (let i = 0; i < 1000; i++) {
    const source = i % 2 ? lines : summary;
    const chars = [...source];
    for (let k = 0, n = 1 + int(4); k < n; k++) {
      const at = int(chars.length + 1);
      if (int(2)) chars.splice(at, 1);
      else chars.splice(at, 0, ["{", "}", '"', ",", ":", "\n", "x", "\u0000", "9"][int(9)]!);
    }
    const text = chars.join("");
    try {
      if (i % 2) parseMetricsJsonl(text);
      else validateSummary(JSON.parse(text));
    } catch (e) {
      assert.ok(e instanceof Error, `case ${i}: ${String(e)}`);
      // JSON.parse's own SyntaxError names the position; our validators name the field
      assert.ok(e.message.length > 10, `case ${i}: a reason, got "${e.message}"`);
    }
  }
});

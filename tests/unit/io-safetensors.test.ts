import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type TensorMap,
  checkAgainstSpec,
  decodeSafetensors,
  encodeSafetensors,
} from "../../src/io/safetensors.js";

function sampleTensors(): TensorMap {
  return {
    "wte.weight": { dtype: "F32", shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i * 0.25 - 1) },
    "blocks.0.attn.bias": { dtype: "F32", shape: [5], data: new Float32Array([NaN, -0, Infinity, -Infinity, 1e-40]) },
    "step": { dtype: "I32", shape: [], data: new Int32Array([1234]) },
    "token_ids": { dtype: "I32", shape: [2, 3], data: new Int32Array([-2147483648, -1, 0, 1, 7, 2147483647]) },
    "empty": { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
  };
}

/** Builds a file by hand: u64 LE header length, JSON header (unpadded), data. */
function handMade(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function bitsOf(a: Float32Array | Int32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

test("round-trip: names, dtypes, shapes, exact bits (NaN, -0, ±Inf, subnormal) and metadata", () => {
  const tensors = sampleTensors();
  const metadata = { format: "pt", stage: "sft", note: "ünïcode ok" };
  const { tensors: back, metadata: backMeta } = decodeSafetensors(encodeSafetensors(tensors, metadata));
  assert.deepEqual(backMeta, metadata);
  assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const b = back[name]!;
    assert.equal(b.dtype, t.dtype, name);
    assert.deepEqual(b.shape, t.shape, name);
    assert.equal(b.data.constructor, t.data.constructor, name);
    assert.deepEqual(bitsOf(b.data), bitsOf(t.data), name);
  }
  // Also from an ArrayBuffer, and from a Uint8Array that is a window into a larger buffer.
  const bytes = encodeSafetensors(tensors);
  assert.deepEqual(Object.keys(decodeSafetensors(bytes.slice().buffer).tensors).length, 5);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const fromWindow = decodeSafetensors(shifted.subarray(3));
  assert.deepEqual(bitsOf(fromWindow.tensors["wte.weight"]!.data), bitsOf(tensors["wte.weight"]!.data));
  // Deterministic bytes.
  assert.deepEqual(encodeSafetensors(sampleTensors()), bytes);
});

test("a kit-written file follows the safetensors byte layout", () => {
  const tensors = sampleTensors();
  const bytes = encodeSafetensors(tensors, { format: "pt" });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  assert.equal((8 + headerLength) % 8, 0, "data starts 8-byte aligned");
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  assert.ok(headerText.startsWith("{"));
  assert.match(headerText, /} *$/, "padding is spaces");
  type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };
  const header = JSON.parse(headerText) as Record<string, unknown>;
  assert.deepEqual(header.__metadata__, { format: "pt" });
  const dataStart = 8 + headerLength;
  const entries = Object.entries(header)
    .filter(([name]) => name !== "__metadata__")
    .map(([name, entry]) => [name, entry as Entry] as const)
    .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let expectedBegin = 0;
  for (const [name, entry] of entries) {
    const t = tensors[name]!;
    assert.equal(entry.dtype, t.dtype);
    assert.deepEqual(entry.shape, t.shape);
    const [begin, end] = entry.data_offsets;
    assert.equal(begin, expectedBegin, `${name} follows the previous tensor with no gap`);
    assert.equal(end - begin, t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) {
      const at = dataStart + begin + 4 * i;
      const value = t.dtype === "F32" ? view.getFloat32(at, true) : view.getInt32(at, true);
      assert.ok(Object.is(value, t.data[i]) || (Number.isNaN(value) && Number.isNaN(t.data[i])), `${name}[${i}]`);
    }
    expectedBegin = end;
  }
  assert.equal(dataStart + expectedBegin, bytes.length, "the data section ends the file");
});

test("reads a hand-made file (offsets in any order, no metadata, no padding)", () => {
  const data = new Uint8Array(12);
  const dv = new DataView(data.buffer);
  dv.setInt32(0, 7, true);
  dv.setFloat32(4, 1.5, true);
  dv.setFloat32(8, -2, true);
  const file = handMade(
    {
      b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      a: { dtype: "I32", shape: [1], data_offsets: [0, 4] },
    },
    data,
  );
  const { tensors, metadata } = decodeSafetensors(file);
  assert.deepEqual(metadata, {});
  assert.deepEqual(Array.from(tensors.a!.data), [7]);
  assert.deepEqual(Array.from(tensors.b!.data), [1.5, -2]);
});

test("refuses a file shorter than 8 bytes", () => {
  assert.throws(() => decodeSafetensors(new Uint8Array(5)), /file is 5 bytes, shorter than the 8-byte header length/);
  assert.throws(() => decodeSafetensors(new Uint8Array(0)), /file is 0 bytes/);
});

test("refuses a header length past the end of the file", () => {
  const bytes = encodeSafetensors(sampleTensors());
  const lying = bytes.slice();
  new DataView(lying.buffer).setBigUint64(0, BigInt(bytes.length), true);
  assert.throws(() => decodeSafetensors(lying), /header length \d+ runs past the end of the file/);
  const huge = bytes.slice();
  new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
  assert.throws(() => decodeSafetensors(huge), /runs past the end/);
});

test("refuses a truncated file", () => {
  const bytes = encodeSafetensors(sampleTensors());
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4)), /data section has only \d+ bytes; the file is truncated/);
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 20)), /runs past the end of the file/);
});

test("refuses a corrupted header (invalid JSON, wrong structure)", () => {
  const bytes = encodeSafetensors(sampleTensors()).slice();
  bytes[8] = "[".charCodeAt(0); // "{" → "["
  assert.throws(() => decodeSafetensors(bytes), /header is not valid JSON/);
  const binary = encodeSafetensors(sampleTensors()).slice();
  binary[12] = 0xff; // not UTF-8
  assert.throws(() => decodeSafetensors(binary), /header is not valid JSON/);
  assert.throws(() => decodeSafetensors(handMade([1, 2])), /header must be a JSON object/);
  assert.throws(() => decodeSafetensors(handMade({ x: 3 })), /tensor "x": header entry must be an object/);
  assert.throws(() => decodeSafetensors(handMade({ __metadata__: { a: 1 } })), /metadata "a" must be a string/);
  assert.throws(
    () => decodeSafetensors(handMade({ x: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } })),
    /tensor "x" has an invalid shape \[-1\]/,
  );
  assert.throws(
    () => decodeSafetensors(handMade({ x: { dtype: "F32", shape: [1], data_offsets: [0] } })),
    /tensor "x" has invalid data_offsets \[0\]/,
  );
});

test("refuses unknown dtypes, naming the tensor", () => {
  const bytes = encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array(2) } });
  const text = new TextDecoder().decode(bytes);
  const patched = new TextEncoder().encode(text.replace('"F32"', '"F16"')); // same length, so offsets stay valid
  assert.throws(() => decodeSafetensors(patched), /tensor "w" has dtype "F16"; this kit reads only F32 and I32/);
  assert.throws(
    () => decodeSafetensors(handMade({ w: { dtype: "BF16", shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4))),
    /"BF16"/,
  );
});

test("refuses data_offsets that disagree with shape × dtype size, or overlap", () => {
  const data = new Uint8Array(24);
  assert.throws(
    () => decodeSafetensors(handMade({ w: { dtype: "F32", shape: [2, 3], data_offsets: [0, 20] } }, data)),
    /tensor "w": data_offsets \[0, 20\] hold 20 bytes, but F32 \[2, 3\] needs 24/,
  );
  assert.throws(
    () => decodeSafetensors(handMade({ w: { dtype: "F32", shape: [3, 3], data_offsets: [0, 36] } }, data)),
    /tensor "w": data_offsets end at byte 36 but the data section has only 24 bytes/,
  );
  assert.throws(
    () => decodeSafetensors(handMade({ w: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, data)),
    /data_offsets \[8, 0\]/,
  );
  assert.throws(
    () =>
      decodeSafetensors(
        handMade(
          {
            a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
            b: { dtype: "I32", shape: [2], data_offsets: [12, 20] },
          },
          data,
        ),
      ),
    /tensors "a" and "b" overlap/,
  );
});

test("encode refuses inconsistent tensors", () => {
  assert.throws(
    () => encodeSafetensors({ w: { dtype: "F32", shape: [2, 3], data: new Float32Array(5) } }),
    /tensor "w" has shape \[2, 3\] \(6 elements\) but 5 values/,
  );
  assert.throws(
    () => encodeSafetensors({ w: { dtype: "I32", shape: [2], data: new Float32Array(2) } }),
    /tensor "w" is I32 but its data is a Float32Array, not a Int32Array/,
  );
  assert.throws(
    () => encodeSafetensors({ w: { dtype: "F64" as "F32", shape: [1], data: new Float32Array(1) } }),
    /unsupported dtype F64/,
  );
});

test("checkAgainstSpec refuses missing, extra and mismatched tensors, naming each", () => {
  const tensors = sampleTensors();
  const spec = Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, { dtype: t.dtype, shape: t.shape }]));
  checkAgainstSpec(tensors, spec); // matches: no throw

  const { step: _dropped, ...missing } = tensors;
  assert.throws(() => checkAgainstSpec(missing, spec), /missing tensor "step" \(expected I32 \[\]\)/);

  const extra = { ...tensors, "lm_head.weight": { dtype: "F32" as const, shape: [4, 3], data: new Float32Array(12) } };
  assert.throws(() => checkAgainstSpec(extra, spec), /unexpected tensor "lm_head.weight" \(F32 \[4, 3\]\)/);

  const wrongShape = { ...spec, "wte.weight": { dtype: "F32" as const, shape: [4, 3] } };
  assert.throws(() => checkAgainstSpec(tensors, wrongShape), /tensor "wte.weight" is F32 \[3, 4\] but expected F32 \[4, 3\]/);

  const wrongDtype = { ...spec, token_ids: { dtype: "F32" as const, shape: [2, 3] } };
  assert.throws(() => checkAgainstSpec(tensors, wrongDtype), /tensor "token_ids" is I32 \[2, 3\] but expected F32 \[2, 3\]/);

  // Several problems are reported together.
  assert.throws(() => checkAgainstSpec(missing, wrongShape), /tensor "wte.weight" is F32 \[3, 4\].*; missing tensor "step"/);
  assert.throws(() => checkAgainstSpec({}, { toString: { dtype: "F32" as const, shape: [1] } }), /missing tensor "toString"/);
});

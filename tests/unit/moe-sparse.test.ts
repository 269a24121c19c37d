// Sparse MoE dispatch: moeSort (histogram, prefix sum, stable placement) and the
// grouped matmul with its weight gradient, on the reference CPU kernels, the
// WebAssembly engine and WebGPU, against plain host loops; and the MoE layer with
// dispatch "sparse" equal to today's dense dispatch (outputs, statistics, balance
// loss and every gradient), including experts that get no token, an expert that
// gets every token, and tied scores (top-k gives ties to the lower index, on every
// engine). Every (token, expert) pair appears exactly once: no token dropped or
// duplicated.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBackend, createCpuBackend } from "../../src/cpu/index.js";
import type { Backend } from "../../src/tensor/backend.js";
import { Engine, type Tensor } from "../../src/tensor/engine.js";
import { Rng } from "../../src/tensor/random.js";
import { MoE, moeDispatchFlopsPerToken, moeFlopsPerToken, type MoEConfig } from "../../src/nn/moe.js";
import { assertClose } from "./helpers/assert-close.js";
import { checkGpuErrors, openBackends, poison } from "./helpers/gpu.js";

const host = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

/** the sort, written as plainly as possible: for each expert in turn, its rows in order */
function hostSort(indices: number[], k: number, E: number) {
  const offsets = [0];
  const tokens: number[] = [];
  const slot = new Array<number>(indices.length);
  const order: number[] = [];
  for (let e = 0; e < E; e++) {
    indices.forEach((ie, r) => {
      if (ie !== e) return;
      slot[r] = tokens.length;
      tokens.push(Math.floor(r / k));
      order.push(r);
    });
    offsets.push(tokens.length);
  }
  return { offsets, tokens, slot, order };
}

// N = 5 tokens, k = 2, E = 4: expert 2 gets no row, expert 0 gets every token
const CRAFTED = { N: 5, k: 2, E: 4, indices: [0, 3, 0, 1, 0, 3, 0, 1, 0, 3] };

async function sortOn(backend: Backend, indices: number[], N: number, k: number, E: number) {
  const idx = backend.upload(indices, [N, k], "i32");
  const r = backend.moeSort(idx, E);
  const out = {
    offsets: Array.from(await backend.read(r.offsets)),
    tokens: Array.from(await backend.read(r.tokens)),
    slot: Array.from(await backend.read(r.slot)),
    order: Array.from(await backend.read(r.order)),
    shapes: [r.offsets.shape, r.tokens.shape, r.slot.shape, r.order.shape].map((s) => [...s]),
  };
  for (const t of [idx, r.offsets, r.tokens, r.slot, r.order]) backend.free(t);
  return out;
}

test("moeSort on the CPU: offsets are the prefix sum of the per-expert counts, rows are stable within an expert, every (token, choice) lands exactly once", async () => {
  const cpu = new CpuBackend();
  const { N, k, E, indices } = CRAFTED;
  const got = await sortOn(cpu, indices, N, k, E);
  assert.deepEqual(got.offsets, [0, 5, 7, 7, 10], "expert 0: all 5 tokens; expert 2: none");
  assert.deepEqual(got.tokens, [0, 1, 2, 3, 4, 1, 3, 0, 2, 4]);
  assert.deepEqual(got.slot, [0, 7, 1, 5, 2, 8, 3, 6, 4, 9]);
  assert.deepEqual(got.order, [0, 2, 4, 6, 8, 3, 7, 1, 5, 9]);
  assert.deepEqual(got.shapes, [[E + 1], [N * k], [N, k], [N * k]]);
  // random choices: the same as the host loop, a permutation of the slots, each token k times
  const rng = new Rng(3);
  for (const [N2, k2, E2] of [[37, 3, 8], [1, 1, 1], [64, 2, 5]] as const) {
    const ids: number[] = [];
    for (let n = 0; n < N2; n++) {
      const pool = [...Array(E2).keys()];
      for (let j = 0; j < k2; j++) ids.push(pool.splice(rng.int(pool.length), 1)[0]!);
    }
    const r = await sortOn(cpu, ids, N2, k2, E2);
    assert.deepEqual({ offsets: r.offsets, tokens: r.tokens, slot: r.slot, order: r.order }, hostSort(ids, k2, E2), `N ${N2}, k ${k2}, E ${E2}`);
    r.order.forEach((row, p) => assert.equal(r.slot[row], p, "order is slot's inverse"));
    assert.deepEqual([...r.slot].sort((a, b) => a - b), [...Array(N2 * k2).keys()], "slot is a permutation: nothing dropped or duplicated");
    const perToken = new Array<number>(N2).fill(0);
    for (const t of r.tokens) perToken[t]!++;
    assert.ok(perToken.every((c) => c === k2), "each token appears k times");
    r.slot.forEach((p, i) => assert.equal(r.tokens[p], Math.floor(i / k2), "the row at a token's slot is that token"));
  }
  assert.throws(() => cpu.moeSort(cpu.upload([0, 4], [1, 2], "i32"), 4), /moeSort: index 4 .* out of range for 4 experts/);
  cpu.destroy();
});

/** the grouped product and its weight gradient by the definition, in float64 */
function hostGrouped(x: number[], w: number[], offsets: number[], R: number, K: number, N: number, transB: boolean): number[] {
  const y = new Array<number>(R * N).fill(0);
  for (let e = 0; e + 1 < offsets.length; e++) {
    for (let p = offsets[e]!; p < offsets[e + 1]!; p++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += x[p * K + k]! * w[e * N * K + (transB ? n * K + k : k * N + n)]!;
        y[p * N + n] = s;
      }
    }
  }
  return y;
}
function hostGradW(dy: number[], x: number[], offsets: number[], A: number, B: number): number[] {
  const E = offsets.length - 1;
  const dw = new Array<number>(E * A * B).fill(0);
  for (let e = 0; e < E; e++) {
    for (let p = offsets[e]!; p < offsets[e + 1]!; p++) {
      for (let i = 0; i < A; i++) for (let j = 0; j < B; j++) dw[(e * A + i) * B + j]! += dy[p * A + i]! * x[p * B + j]!;
    }
  }
  return dw;
}

async function groupedOn(backend: Backend, rows: { x: number[]; w: number[]; dy: number[]; offsets: number[] }, R: number, E: number, A: number, B: number) {
  const x = backend.upload(rows.x, [R, B], "f32");
  const w = backend.upload(rows.w, [E, A, B], "f32");
  const off = backend.upload(rows.offsets, [E + 1], "i32");
  const dy = backend.upload(rows.dy, [R, A], "f32");
  const y = backend.groupedMatmul(x, w, off, true); // [R, A]
  const dx = backend.groupedMatmul(dy, w, off, false); // [R, B]
  const dw = backend.groupedMatmulGradW(dy, x, off, E); // [E, A, B]
  const out = { y: Array.from(await backend.read(y)), dx: Array.from(await backend.read(dx)), dw: Array.from(await backend.read(dw)) };
  for (const t of [x, w, off, dy, y, dx, dw]) backend.free(t);
  return out;
}

test("groupedMatmul (x·wᵀ and x·w) and groupedMatmulGradW equal the definition on the reference, WebAssembly and WebGPU engines (awkward sizes, empty experts)", async () => {
  // experts 1 and 4 get no row; in the second case blocks end inside 16-row tiles and every size spans tiles
  const cases = [
    { R: 11, E: 5, A: 7, B: 3, offsets: [0, 2, 2, 9, 11, 11] },
    { R: 53, E: 5, A: 21, B: 19, offsets: [0, 13, 13, 30, 53, 53] },
  ];
  const wasm = (await createCpuBackend("wasm")).backend;
  const b = await openBackends();
  try {
    poison(b);
    for (const { R, E, A, B, offsets } of cases) {
      const rng = new Rng(9);
      const rows = { x: Array.from(rng.normals(R * B, 1)), w: Array.from(rng.normals(E * A * B, 1)), dy: Array.from(rng.normals(R * A, 1)), offsets };
      const want = {
        y: hostGrouped(rows.x, rows.w, offsets, R, B, A, true),
        dx: hostGrouped(rows.dy, rows.w, offsets, R, A, B, false),
        dw: hostGradW(rows.dy, rows.x, offsets, A, B),
      };
      assert.ok(want.dw.slice(A * B, 2 * A * B).every((v) => v === 0), "an expert without rows has a zero gradient");
      for (const [name, backend] of [["reference", b.cpu], ["wasm", wasm], ["webgpu", b.gpu]] as const) {
        const got = await groupedOn(backend, rows, R, E, A, B);
        for (const k of ["y", "dx", "dw"] as const) assertClose(got[k], want[k], { atol: 1e-4, rtol: 1e-5 }, `${name}, R ${R}: ${k}`);
      }
    }
    await checkGpuErrors(b);
    const [R, E, A, B] = [11, 5, 7, 3];
    const rows = { x: Array.from(new Rng(9).normals(R * B, 1)), w: Array.from(new Rng(9).normals(E * A * B, 1)) };
    const bad = b.cpu.upload([0, 3, 2, 11, 11, 11], [E + 1], "i32");
    assert.throws(() => b.cpu.groupedMatmul(b.cpu.upload(rows.x, [R, B], "f32"), b.cpu.upload(rows.w, [E, A, B], "f32"), bad, true), /offsets decrease at 2/);
  } finally {
    b.close();
    wasm.destroy();
  }
});

test("moeSort on WebGPU equals the CPU's exactly (crafted, random, one expert, 256 experts)", async () => {
  const b = await openBackends();
  try {
    poison(b);
    const cases: [number[], number, number, number][] = [[CRAFTED.indices, CRAFTED.N, CRAFTED.k, CRAFTED.E]];
    const rng = new Rng(4);
    for (const [N, k, E] of [[50, 3, 7], [9, 1, 1], [40, 4, 256]] as const) {
      const ids: number[] = [];
      for (let n = 0; n < N; n++) {
        const pool = [...Array(E).keys()];
        for (let j = 0; j < k; j++) ids.push(pool.splice(rng.int(pool.length), 1)[0]!);
      }
      cases.push([ids, N, k, E]);
    }
    for (const [ids, N, k, E] of cases) {
      assert.deepEqual(await sortOn(b.gpu, ids, N, k, E), await sortOn(b.cpu, ids, N, k, E), `N ${N}, k ${k}, E ${E}`);
    }
    await checkGpuErrors(b);
    assert.throws(() => b.gpu.moeSort(b.gpu.upload([0], [1, 1], "i32"), 257), /E must be an integer in 1\.\.256 on WebGPU/);
  } finally {
    b.close();
  }
});

// ---- the MoE layer: sparse dispatch = dense dispatch ------------------------------------

const CFG: MoEConfig = { dModel: 6, nRouted: 5, topK: 2, expertDim: 3, nShared: 1, scoring: "sigmoid", routeScale: 2.5, balanceAlpha: 0.1 };

interface LayerResult { y: number[]; stats: number[]; bal: number[]; grads: Map<string, number[]> }

/** forward + backward of one MoE layer with the given dispatch; craft(m) sets router weights or bias */
async function layerRun(backend: Backend, cfg: MoEConfig, craft: (e: Engine, m: MoE) => void, B = 2, T = 5): Promise<LayerResult> {
  const e = new Engine(backend);
  const m = new MoE(e, cfg, new Rng(5));
  craft(e, m);
  const rng = new Rng(6);
  const x = e.parameter(rng.normals(B * T * cfg.dModel, 1), [B, T, cfg.dModel]);
  const w = e.tensor(rng.normals(B * T * cfg.dModel, 1), [B, T, cfg.dModel]);
  const y = e.scope(() => {
    const out = m.forward(x);
    const loss = e.sumAll(e.mul(out, w));
    e.backward(m.lastBalanceLoss ? e.add(loss, m.lastBalanceLoss) : loss);
    return out;
  });
  const res: LayerResult = { y: await host(y), stats: await host(m.lastStats!), bal: [], grads: new Map() };
  for (const p of [...m.parameters(), { name: "x", tensor: x }]) res.grads.set(p.name, await host(p.tensor.grad!));
  m.dispose();
  x.dispose();
  return res;
}

function assertSame(got: LayerResult, want: LayerResult, tol: { atol: number; rtol: number }, label: string): void {
  assertClose(got.y, want.y, tol, `${label}: output`);
  assert.deepEqual(got.stats.slice(0, -1), want.stats.slice(0, -1), `${label}: tokens per expert`);
  for (const [name, g] of want.grads) {
    assert.ok(g.some((v) => v !== 0), `${label}: ${name} has a gradient to compare`);
    assertClose(got.grads.get(name)!, g, tol, `${label}: d${name}`);
  }
}

const CRAFTS: [string, MoEConfig, (e: Engine, m: MoE) => void][] = [
  ["random routing", CFG, () => {}],
  ["V2 softmax, k = 3", { ...CFG, scoring: "softmax", topK: 3, routeScale: 1 }, () => {}],
  // a bias of −10 keeps experts 1 and 3 out of every choice; +10 puts expert 0 in every one
  ["experts 1 and 3 get no token, expert 0 gets every token", CFG, (_, m) => m.router.setBias([10, -10, 0, -10, 0])],
  // a zero router: every score is sigmoid(0), a five-way tie that top-k breaks by the lower index
  ["all scores tied", CFG, (e, m) => e.assign(m.router.weight, new Array<number>(m.router.weight.size).fill(0))],
  ["k = E: every expert on every token", { ...CFG, topK: 5, nShared: 0 }, () => {}],
];

test("float64 CPU: the sparse-dispatch MoE layer gives the dense dispatch's output, loads, balance loss and every gradient", async () => {
  for (const [label, cfg, craft] of CRAFTS) {
    const dense = await layerRun(new CpuBackend({ precision: "f64" }), { ...cfg, dispatch: "dense" }, craft);
    const sparse = await layerRun(new CpuBackend({ precision: "f64" }), { ...cfg, dispatch: "sparse" }, craft);
    assertSame(sparse, dense, { atol: 1e-12, rtol: 1e-12 }, label);
    if (label.startsWith("experts 1 and 3")) {
      assert.deepEqual([1, 3].map((i) => dense.stats[i]), [0, 0], "experts 1 and 3 got no token");
      assert.equal(dense.stats[0], 10, "expert 0 got all 10 tokens");
      for (const name of ["experts.gate.weight", "experts.up.weight", "experts.down.weight"]) {
        const g = sparse.grads.get(name)!;
        const per = g.length / cfg.nRouted;
        assert.ok(g.slice(per, 2 * per).every((v) => v === 0) && g.slice(3 * per, 4 * per).every((v) => v === 0), `${name}: no gradient for the idle experts`);
      }
    }
    if (label === "all scores tied") assert.deepEqual(dense.stats.slice(0, 5), [10, 10, 0, 0, 0], "ties go to the lower indices");
  }
});

test("WebAssembly and WebGPU: sparse dispatch matches the float64 dense dispatch (output, loads, every gradient)", async () => {
  const wasm = (await createCpuBackend("wasm")).backend;
  const b = await openBackends();
  try {
    for (const [label, cfg, craft] of CRAFTS) {
      const ref = await layerRun(new CpuBackend({ precision: "f64" }), { ...cfg, dispatch: "dense" }, craft);
      for (const [name, backend] of [["wasm", wasm], ["webgpu", b.gpu]] as const) {
        const got = await layerRun(backend, { ...cfg, dispatch: "sparse" }, craft);
        assertSame(got, ref, { atol: 2e-5, rtol: 1e-4 }, `${name}, ${label}`);
      }
    }
    await checkGpuErrors(b);
  } finally {
    b.close();
    wasm.destroy();
  }
});

test("FLOPs per token: sparse dispatch runs k routed experts, dense dispatch all E", () => {
  const c: MoEConfig = { ...CFG, dModel: 32, nRouted: 8, topK: 3, expertDim: 16 };
  const expert = 2 * 3 * 32 * 16;
  assert.equal(moeDispatchFlopsPerToken(c, "sparse"), moeFlopsPerToken(c));
  assert.equal(moeDispatchFlopsPerToken(c, "dense") - moeDispatchFlopsPerToken(c, "sparse"), (8 - 3) * expert);
  assert.equal(moeFlopsPerToken(c), 2 * 32 * 8 + (1 + 3) * expert);
});

// Transformer ops on the GPU: rotary embedding and fused attention (forward and
// backward). Kernels: kernels/rope.wgsl, kernels/attention.wgsl,
// kernels/attention_bwd_dq.wgsl, kernels/attention_bwd_dkdv.wgsl, and the same three
// attention kernels generated below for one head size at a time.
//
// Attention never materialises the [Tq, Tk] score matrix: the forward pass keeps an
// online softmax per query row and saves only the row's log-sum-exp; the backward
// pass recomputes each probability from it. That is the FlashAttention idea, here
// in its simplest form (one thread per row, no tiling), which is plenty at the
// sequence lengths of this course.
//
// Each attention kernel comes in two versions that compute the same thing:
// - general (the .wgsl files): any head size. Loops over the head run to bounds read
//   at run time, so rows are re-read from memory one float at a time and the
//   accumulators are 64-wide private arrays (wider heads are split into 64-column
//   chunks, each thread recomputing the scores).
// - specialised (generated here for each (D, Dv) up to SPECIALISED_MAX_HEAD): the loops
//   over the head are written out for the exact size, so a thread reads its own rows
//   once into registers, keeps exactly-sized accumulators there, and reads every row
//   as vec4 (vec2 or f32 when the size is not a multiple of 4). The forward and dq
//   kernels also give one thread several query heads of a GQA group, and the dk/dv
//   kernel several keys, so each row it reads serves several. On SwiftShader (the
//   default GPT, head size 16) the three specialised kernels take 8–9× less time than
//   the general ones.

import type { AttentionOptions, RopeOptions } from "../../tensor/backend.js";
import { attentionShape, checkDType, fmtShape, ShapeError } from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";

/** threads per workgroup in every kernel of this file */
const WORKGROUP = 64;
/** columns of an output row one thread of a general attention kernel accumulates (their CHUNK) */
const CHUNK = 64;

function workgroupsFor(ctx: GpuContext, threads: number): [number, number] {
  return ctx.grid(Math.ceil(threads / WORKGROUP));
}

/** rotary embedding, half-split pairs (x[i], x[i + D/2]); x: [B, T, H, D] */
export function rope(ctx: GpuContext, x: GpuTensor, opts: RopeOptions): GpuTensor {
  const op = "rope";
  checkDType(op, x, "f32");
  if (x.shape.length !== 4) throw new ShapeError(`${op}: x must be [B, T, H, D], got ${fmtShape(x.shape)}`);
  const [, T, H, D] = x.shape as [number, number, number, number];
  if (D % 2 !== 0) throw new ShapeError(`${op}: head size D must be even, got shape ${fmtShape(x.shape)}`);
  if (!Number.isInteger(opts.pos0)) throw new RangeError(`${op}: pos0 must be an integer, got ${opts.pos0}`);
  if (!(opts.theta > 0)) throw new RangeError(`${op}: theta must be positive, got ${opts.theta}`);
  const y = ctx.empty(x.shape, "f32");
  const pairs = x.size / 2;
  ctx.dispatch({
    kernel: "rope",
    buffers: [x, y],
    uniforms: [T, H, D, pairs, { i32: opts.pos0 }, { f32: Math.log2(opts.theta) }, { f32: opts.inverse ? -1 : 1 }],
    workgroups: workgroupsFor(ctx, pairs),
    flops: x.size,
  });
  return y;
}

type AttnDims = ReturnType<typeof attentionShape>;

// ---- general kernels ---------------------------------------------------------------

/** the Params struct shared by the three general attention kernels (same field order) */
function attnUniforms(s: AttnDims, opts: AttentionOptions, chunks: number, threads: number) {
  return [
    s.Tq, s.Hq, s.D, s.Tk, s.Hkv, s.Dv, s.kvLen, s.group, opts.causal ? 1 : 0, chunks, threads,
    { f32: opts.scale }, opts.keyStart ? 1 : 0, s.B * s.Tq * s.Hq,
  ];
}

/**
 * The buffer bound as `keyStart` (left padding). Without padding the kernels never
 * read it (hasKeyStart = 0), but WebGPU still wants a buffer there: q stands in.
 */
function keyStartBuffer(q: GpuTensor, keyStart: GpuTensor | null): GpuTensor {
  return keyStart ?? q;
}

// ---- specialised kernels -------------------------------------------------------------

/**
 * Head sizes (D and Dv) up to this get kernels generated for their size; wider heads
 * take the general ones. Written-out code grows with the head, and so does the time to
 * compile it: on SwiftShader about 0.5 s for the three kernels at 16, 1.5–3.5 s at 64,
 * 12 s at 128 and 30 s at 256, once per size and session.
 */
export const SPECIALISED_MAX_HEAD = 64;

/**
 * Whether attention may use the specialised kernels at all. Tests switch it off to run
 * the general kernels on the same small shapes; nothing else should need to.
 */
export const attentionKernelChoice = { specialise: true };

/** The kernels one attention call dispatches, by the names GpuContext.pipeline knows them. */
export type AttentionPlan =
  | { kind: "general"; forward: string; dq: string; dkdv: string }
  | {
    kind: "specialised"; forward: string; dq: string; dkdv: string;
    /** query heads (of one GQA group) each forward and dq thread serves */
    heads: number;
    /** key positions each dk/dv thread serves */
    keys: number;
  };

/**
 * Which kernels attention uses for head sizes D (q, k) and Dv (v) with `group` query
 * heads per key/value head: the specialised ones when 1 ≤ D, Dv ≤ SPECIALISED_MAX_HEAD
 * (and attentionKernelChoice.specialise), else the general ones.
 */
export function attentionPlan(D: number, Dv: number, group: number): AttentionPlan {
  const fits = (n: number) => Number.isInteger(n) && n >= 1 && n <= SPECIALISED_MAX_HEAD;
  if (!attentionKernelChoice.specialise || !fits(D) || !fits(Dv) || !(group >= 1)) {
    return { kind: "general", forward: "attention", dq: "attention_bwd_dq", dkdv: "attention_bwd_dkdv" };
  }
  const heads = headsPerThread(D, Dv, group);
  const keys = keysPerThread(D, Dv);
  const tag = `D${D},Dv${Dv}`;
  return {
    kind: "specialised",
    heads,
    keys,
    forward: generatedKernel(`attention@${tag},G${heads}`, () => forwardKernel(D, Dv, heads)),
    dq: generatedKernel(`attention_bwd_dq@${tag},G${heads}`, () => dqKernel(D, Dv, heads)),
    dkdv: generatedKernel(`attention_bwd_dkdv@${tag},K${keys}`, () => dkdvKernel(D, Dv, keys)),
  };
}

/**
 * Query heads per forward/dq thread: the largest divisor G of the GQA group with G ≤ 4
 * and G·(D + Dv) ≤ 128, so a thread's q rows and accumulators stay about 128 floats.
 */
function headsPerThread(D: number, Dv: number, group: number): number {
  let best = 1;
  for (let g = 2; g <= Math.min(group, 4); g++) if (group % g === 0 && g * (D + Dv) <= 128) best = g;
  return best;
}

/** Key positions per dk/dv thread: the largest K in 1, 2, 4 with K·(D + Dv) ≤ 128, as above. */
function keysPerThread(D: number, Dv: number): number {
  return [4, 2, 1].find((k) => k * (D + Dv) <= 128) ?? 1;
}

/** Generators of the specialised kernels, by name; the WGSL is only built when first dispatched. */
const GENERATORS = new Map<string, () => string>();

function generatedKernel(name: string, make: () => string): string {
  if (!GENERATORS.has(name)) GENERATORS.set(name, make);
  return name;
}

/** Hand a plan's generated kernels to the context (GpuContext compiles each once). */
function registerPlan(ctx: GpuContext, plan: AttentionPlan): void {
  if (plan.kind !== "specialised") return;
  for (const name of [plan.forward, plan.dq, plan.dkdv]) ctx.registerKernel(name, GENERATORS.get(name)!);
}

/** the uniform Params struct of the specialised kernels, in this order */
function specUniforms(s: AttnDims, opts: AttentionOptions, threads: number) {
  return [
    s.Tq, s.Hq, s.Tk, s.Hkv, s.kvLen, s.group, opts.causal ? 1 : 0, threads, { f32: opts.scale },
    opts.keyStart ? 1 : 0, s.B * s.Tq * s.Hq,
  ];
}

/** A row of `size` floats as `n` vectors of `w` floats (w = 4 when size allows, else 2, else 1). */
interface RowType {
  n: number;
  w: 1 | 2 | 4;
  /** WGSL type of one vector */
  ty: string;
}

function rowType(size: number): RowType {
  const w = size % 4 === 0 ? 4 : size % 2 === 0 ? 2 : 1;
  return { n: size / w, w, ty: w === 1 ? "f32" : `vec${w}<f32>` };
}

/** f(0) sep f(1) sep … f(n − 1) */
function each(n: number, f: (c: number) => string, sep = " "): string {
  return Array.from({ length: n }, (_, c) => f(c)).join(sep);
}

/** Σ_c a(c)·b(c) over the vectors of a row, as one WGSL expression */
function dotSum(r: RowType, a: (c: number) => string, b: (c: number) => string): string {
  return each(r.n, (c) => (r.w === 1 ? `${a(c)} * ${b(c)}` : `dot(${a(c)}, ${b(c)})`), " + ");
}

function specPrelude(what: string, D: number, Dv: number, bindings: [string, "read" | "read_write", RowType | null][]): string {
  const decls = bindings.map(([name, access, r], i) =>
    `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${r ? r.ty : "f32"}>;`);
  return `// ${what}, generated by src/gpu/ops/attention.ts for D = ${D}, Dv = ${Dv}.
// The same computation as kernels/${what}.wgsl (read that file for the method,
// layouts and masking); here every loop over a head is written out for this size,
// so rows live in registers and are read once, as ${rowType(D).ty} (q, k and their
// gradients) and ${rowType(Dv).ty} (v, out, dO, dv).

struct Params {
  Tq: u32,
  Hq: u32,
  Tk: u32,
  Hkv: u32,
  kvLen: u32,
  group: u32,
  causal: u32,
  threads: u32,
  scale: f32,
  hasKeyStart: u32,
  rows: u32,
}

${decls.join("\n")}
@group(0) @binding(${bindings.length}) var<storage, read> keyStart: array<i32>;
@group(0) @binding(${bindings.length + 1}) var<uniform> p: Params;

// left padding: the first key a query of batch row b whose last key is \`last\` sees
fn firstKey(b: u32, last: u32) -> u32 {
  if (p.hasKeyStart == 0u) { return 0u; }
  return min(u32(max(keyStart[b], 0)), last);
}

@compute @workgroup_size(${WORKGROUP})
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let t = (wg.x + wg.y * nwg.x) * ${WORKGROUP}u + li;
  if (t >= p.threads) { return; }`;
}

/**
 * Thread t of a forward or dq kernel serves query i of batch b and G consecutive query
 * heads of key/value head hk's group: rows row0 … row0 + G − 1 of q (out, lse, dq).
 * t = ((b·Tq + i)·Hkv + hk)·(group / G) + part.
 */
function queryThread(G: number): string {
  return `
  let parts = p.group / ${G}u;
  let bih = t / parts;
  let hk = bih % p.Hkv;
  let bi = bih / p.Hkv;
  let i = bi % p.Tq;
  let b = bi / p.Tq;
  let row0 = bi * p.Hq + hk * p.group + (t % parts) * ${G}u;
  var lastKey = p.kvLen - 1u;
  if (p.causal != 0u) { lastKey = p.kvLen - p.Tq + i; }
  let first = firstKey(b, lastKey);`;
}

/**
 * Inside a forward or dq kernel's loop over keys j: read key j's k row (k0, k1, …)
 * and v row (v0, v1, …) of key/value head hk into registers, once for all G heads.
 */
function loadKeyRow(rq: RowType, rv: RowType): string {
  return `let kv = (b * p.Tk + j) * p.Hkv + hk;
    let kb = kv * ${rq.n}u;
    let vb = kv * ${rv.n}u;
    ${each(rq.n, (c) => `let k${c} = k[kb + ${c}u];`, "\n    ")}
    ${each(rv.n, (c) => `let v${c} = v[vb + ${c}u];`, "\n    ")}`;
}

/** forward: out and lse for G query heads per thread */
function forwardKernel(D: number, Dv: number, G: number): string {
  const rq = rowType(D);
  const rv = rowType(Dv);
  const perHead = (f: (g: number) => string, sep = "\n  ") => each(G, f, sep);
  return `${specPrelude("attention", D, Dv, [["q", "read", rq], ["k", "read", rq], ["v", "read", rv], ["out", "read_write", rv], ["lse", "read_write", null]])}
${queryThread(G)}
  // q rows, pre-multiplied by scale; per head a running max m, sum l and weighted sum o
  ${perHead((g) => `let qb${g} = (row0 + ${g}u) * ${rq.n}u;
  ${each(rq.n, (c) => `let q${g}_${c} = q[qb${g} + ${c}u] * p.scale;`, "\n  ")}
  var m${g} = -1e30;
  var l${g} = 0.0;
  ${each(rv.n, (c) => `var o${g}_${c} = ${rv.ty}(0.0);`, "\n  ")}`)}
  for (var j = first; j <= lastKey; j++) {
    ${loadKeyRow(rq, rv)}
    ${perHead((g) => `{
      let s = ${dotSum(rq, (c) => `q${g}_${c}`, (c) => `k${c}`)};
      let mNew = max(m${g}, s);
      let shrink = exp(m${g} - mNew);
      let e = exp(s - mNew);
      m${g} = mNew;
      l${g} = l${g} * shrink + e;
      ${each(rv.n, (c) => `o${g}_${c} = o${g}_${c} * shrink + e * v${c};`, "\n      ")}
    }`, "\n    ")}
  }
  ${perHead((g) => `${each(rv.n, (c) => `out[(row0 + ${g}u) * ${rv.n}u + ${c}u] = o${g}_${c} / l${g};`, "\n  ")}
  lse[row0 + ${g}u] = m${g} + log(l${g});`)}
}
`;
}

/** backward part 1: dq and delta for G query heads per thread */
function dqKernel(D: number, Dv: number, G: number): string {
  const rq = rowType(D);
  const rv = rowType(Dv);
  const perHead = (f: (g: number) => string, sep = "\n  ") => each(G, f, sep);
  return `${specPrelude("attention_bwd_dq", D, Dv, [
    ["q", "read", rq], ["k", "read", rq], ["v", "read", rv], ["o", "read", rv], ["stats", "read_write", null],
    ["dO", "read", rv], ["dq", "read_write", rq],
  ])}
${queryThread(G)}
  // per head: q (pre-multiplied by scale) and dO rows, delta = dO·O, lse, dq accumulator
  ${perHead((g) => `let qb${g} = (row0 + ${g}u) * ${rq.n}u;
  let ob${g} = (row0 + ${g}u) * ${rv.n}u;
  ${each(rq.n, (c) => `let q${g}_${c} = q[qb${g} + ${c}u] * p.scale;`, "\n  ")}
  ${each(rv.n, (c) => `let dy${g}_${c} = dO[ob${g} + ${c}u];`, "\n  ")}
  let di${g} = ${dotSum(rv, (c) => `dy${g}_${c}`, (c) => `o[ob${g} + ${c}u]`)};
  stats[p.rows + row0 + ${g}u] = di${g};
  let L${g} = stats[row0 + ${g}u];
  ${each(rq.n, (c) => `var a${g}_${c} = ${rq.ty}(0.0);`, "\n  ")}`)}
  for (var j = first; j <= lastKey; j++) {
    ${loadKeyRow(rq, rv)}
    ${perHead((g) => `{
      let prob = exp(${dotSum(rq, (c) => `q${g}_${c}`, (c) => `k${c}`)} - L${g});
      let dpv = ${dotSum(rv, (c) => `dy${g}_${c}`, (c) => `v${c}`)};
      let ds = prob * (dpv - di${g}) * p.scale;
      ${each(rq.n, (c) => `a${g}_${c} += ds * k${c};`, "\n      ")}
    }`, "\n    ")}
  }
  ${perHead((g) => each(rq.n, (c) => `dq[qb${g} + ${c}u] = a${g}_${c};`, "\n  "))}
}
`;
}

/**
 * backward part 2: dk and dv for K consecutive key positions jFirst … jFirst + K − 1 of one
 * key/value head per thread, so each q and dO row it reads serves K keys.
 * t = (b·⌈Tk / K⌉ + jFirst / K)·Hkv + hk.
 */
function dkdvKernel(D: number, Dv: number, K: number): string {
  const rq = rowType(D);
  const rv = rowType(Dv);
  const perKey = (f: (kk: number) => string, sep = "\n  ") => each(K, f, sep);
  return `${specPrelude("attention_bwd_dkdv", D, Dv, [
    ["q", "read", rq], ["k", "read", rq], ["v", "read", rv], ["stats", "read", null], ["dO", "read", rv],
    ["dk", "read_write", rq], ["dv", "read_write", rv],
  ])}
  let hk = t % p.Hkv;
  let bm = t / p.Hkv;
  let parts = (p.Tk + ${K - 1}u) / ${K}u;
  let b = bm / parts;
  let jFirst = (bm % parts) * ${K}u;
  // per key: its k row (pre-multiplied by scale), v row and dk, dv accumulators.
  // A slot past Tk (when K does not divide Tk) reads row Tk − 1 and writes nothing.
  ${perKey((kk) => `let j${kk} = jFirst + ${kk}u;
  let kv${kk} = (b * p.Tk + min(j${kk}, p.Tk - 1u)) * p.Hkv + hk;
  ${each(rq.n, (c) => `let k${kk}_${c} = k[kv${kk} * ${rq.n}u + ${c}u] * p.scale;`, "\n  ")}
  ${each(rv.n, (c) => `let v${kk}_${c} = v[kv${kk} * ${rv.n}u + ${c}u];`, "\n  ")}
  ${each(rq.n, (c) => `var ak${kk}_${c} = ${rq.ty}(0.0);`, "\n  ")}
  ${each(rv.n, (c) => `var av${kk}_${c} = ${rv.ty}(0.0);`, "\n  ")}`)}
  if (jFirst < p.kvLen) {
    // Query i sits at position kvLen − Tq + i; it sees key j < kvLen, and when causal only j ≤ its position.
    let offset = p.kvLen - p.Tq;
    var iStart = 0u;
    if (p.causal != 0u && jFirst > offset) { iStart = jFirst - offset; }
    for (var i = iStart; i < p.Tq; i++) {
      // query i sees keys firstKey(b, last) … last
      let last = select(p.kvLen - 1u, offset + i, p.causal != 0u);
      let first = firstKey(b, last);
      ${perKey((kk) => `let sees${kk} = j${kk} >= first && j${kk} <= last;`, "\n      ")}
      let row0 = (b * p.Tq + i) * p.Hq + hk * p.group;
      for (var g = 0u; g < p.group; g++) {
        let row = row0 + g;
        let qb = row * ${rq.n}u;
        let ob = row * ${rv.n}u;
        ${each(rq.n, (c) => `let q${c} = q[qb + ${c}u];`, "\n        ")}
        ${each(rv.n, (c) => `let dy${c} = dO[ob + ${c}u];`, "\n        ")}
        let L = stats[row];
        let di = stats[p.rows + row];
        // masked with select, not a product: a masked key's row may hold anything, NaN included
        ${perKey((kk) => `{
          let prob = select(0.0, exp(${dotSum(rq, (c) => `q${c}`, (c) => `k${kk}_${c}`)} - L), sees${kk});
          let ds = select(0.0, prob * (${dotSum(rv, (c) => `dy${c}`, (c) => `v${kk}_${c}`)} - di) * p.scale, sees${kk});
          ${each(rv.n, (c) => `av${kk}_${c} += prob * dy${c};`, "\n          ")}
          ${each(rq.n, (c) => `ak${kk}_${c} += ds * q${c};`, "\n          ")}
        }`, "\n        ")}
      }
    }
  }
  // rows at positions ≥ kvLen are never attended to: their gradients are zero
  ${perKey((kk) => `if (j${kk} < p.Tk) {
    ${each(rq.n, (c) => `dk[kv${kk} * ${rq.n}u + ${c}u] = ak${kk}_${c};`, "\n    ")}
    ${each(rv.n, (c) => `dv[kv${kk} * ${rv.n}u + ${c}u] = av${kk}_${c};`, "\n    ")}
  }`)}
}
`;
}

// ---- ops -------------------------------------------------------------------------------

function checkAttentionInputs(op: string, q: GpuTensor, k: GpuTensor, v: GpuTensor, opts: AttentionOptions): AttnDims {
  checkDType(op, q, "f32", "q");
  checkDType(op, k, "f32", "k");
  checkDType(op, v, "f32", "v");
  if (!Number.isFinite(opts.scale)) throw new RangeError(`${op}: scale must be a finite number, got ${opts.scale}`);
  return attentionShape(q.shape, k.shape, v.shape, opts);
}

/**
 * Scaled dot-product attention (see Backend.attention): out [B, Tq, Hq, Dv] and
 * lse [B, Tq, Hq]. Counts 2·B·Hq·Tq·Tk·(D + Dv) flops, like the CPU twin.
 */
export function attention(
  ctx: GpuContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, opts: AttentionOptions, keyStart: GpuTensor | null = null,
): { out: GpuTensor; lse: GpuTensor } {
  const s = checkAttentionInputs("attention", q, k, v, opts);
  const { B, Tq, Hq, Dv, Tk, D } = s;
  const keyStartBuf = keyStartBuffer(q, keyStart);
  const out = ctx.empty([B, Tq, Hq, Dv], "f32");
  const lse = ctx.empty([B, Tq, Hq], "f32");
  const rows = B * Tq * Hq;
  const flops = 2 * B * Hq * Tq * Tk * (D + Dv);
  const plan = attentionPlan(D, Dv, s.group);
  registerPlan(ctx, plan);
  if (plan.kind === "specialised") {
    const threads = rows / plan.heads;
    ctx.dispatch({
      kernel: plan.forward,
      buffers: [q, k, v, out, lse, keyStartBuf],
      uniforms: specUniforms(s, opts, threads),
      workgroups: workgroupsFor(ctx, threads),
      flops,
    });
  } else {
    const chunks = Math.max(1, Math.ceil(Dv / CHUNK));
    ctx.dispatch({
      kernel: plan.forward,
      buffers: [q, k, v, out, lse, keyStartBuf],
      uniforms: attnUniforms(s, opts, chunks, rows * chunks),
      workgroups: workgroupsFor(ctx, rows * chunks),
      flops,
    });
  }
  return { out, lse };
}

/**
 * Gradients of attention (see Backend.attentionBackward), in two dispatches and
 * without float atomics: dq (and delta_i = dO_i·O_i) one query row per thread,
 * then dk and dv one key row per thread. Counts 2·B·Hq·Tq·Tk·(3D + 2Dv) flops,
 * like the CPU twin.
 */
export function attentionBackward(
  ctx: GpuContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, out: GpuTensor, lse: GpuTensor, dout: GpuTensor,
  opts: AttentionOptions, keyStart: GpuTensor | null = null,
): { dq: GpuTensor; dk: GpuTensor; dv: GpuTensor } {
  const op = "attentionBackward";
  const s = checkAttentionInputs(op, q, k, v, opts);
  const { B, Tq, Hq, Dv, Tk, Hkv, D } = s;
  const ref = `q ${fmtShape(q.shape)}, v ${fmtShape(v.shape)}`;
  const expect = (what: string, t: GpuTensor, want: number[]) => {
    checkDType(op, t, "f32", what);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new ShapeError(`${op}: ${what} has shape ${fmtShape(t.shape)} but ${ref} need ${fmtShape(want)}`);
    }
  };
  expect("out", out, [B, Tq, Hq, Dv]);
  expect("dout", dout, [B, Tq, Hq, Dv]);
  expect("lse", lse, [B, Tq, Hq]);

  const dq = ctx.empty(q.shape, "f32");
  const dk = ctx.empty(k.shape, "f32");
  const dv = ctx.empty(v.shape, "f32");
  const flops = 2 * B * Hq * Tq * Tk * (3 * D + 2 * Dv);
  const rows = B * Tq * Hq;
  // [lse | delta] in one buffer (the dq kernel writes delta): with a buffer of its own
  // each backward kernel would bind 9 storage buffers, and WebGPU only promises 8.
  const stats = ctx.empty([2 * rows], "f32");
  ctx.copy(lse, 0, stats, 0, rows * 4);
  const keyStartBuf = keyStartBuffer(q, keyStart);
  const dqBuffers = [q, k, v, out, stats, dout, dq, keyStartBuf];
  const dkdvBuffers = [q, k, v, stats, dout, dk, dv, keyStartBuf];

  const kvRows = B * Tk * Hkv;
  const plan = attentionPlan(D, Dv, s.group);
  registerPlan(ctx, plan);
  if (plan.kind === "specialised") {
    const threads = rows / plan.heads;
    ctx.dispatch({
      kernel: plan.dq,
      buffers: dqBuffers,
      uniforms: specUniforms(s, opts, threads),
      workgroups: workgroupsFor(ctx, threads),
      flops: flops / 2,
    });
    const kvThreads = B * Math.ceil(Tk / plan.keys) * Hkv;
    ctx.dispatch({
      kernel: plan.dkdv,
      buffers: dkdvBuffers,
      uniforms: specUniforms(s, opts, kvThreads),
      workgroups: workgroupsFor(ctx, kvThreads),
      flops: flops / 2,
    });
  } else {
    const chunksQ = Math.max(1, Math.ceil(D / CHUNK));
    ctx.dispatch({
      kernel: plan.dq,
      buffers: dqBuffers,
      uniforms: attnUniforms(s, opts, chunksQ, rows * chunksQ),
      workgroups: workgroupsFor(ctx, rows * chunksQ),
      flops: flops / 2,
    });
    const chunksKV = Math.max(1, Math.ceil(Math.max(D, Dv) / CHUNK));
    ctx.dispatch({
      kernel: plan.dkdv,
      buffers: dkdvBuffers,
      uniforms: attnUniforms(s, opts, chunksKV, kvRows * chunksKV),
      workgroups: workgroupsFor(ctx, kvRows * chunksKV),
      flops: flops / 2,
    });
  }
  // Safe while the dispatches are still queued: the pool hands a freed buffer only
  // to later work in the same encoder, which runs after them.
  ctx.free(stats);
  return { dq, dk, dv };
}

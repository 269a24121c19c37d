// An independent Multi-head Latent Attention, written from DeepSeek-V2's equations
// (§2.1.2–2.1.3) with plain loops over float64 numbers: no engine, no tensors, no code
// shared with src/nn/mla.ts. The tests run both of that module's paths against it.
//
// For token t of a sequence, with h_t the layer's input (d values):
//   c^Q_t  = RMSNorm(W^DQ h_t)        (or c^Q_t = h_t when there is no query latent)
//   q^C_{t,i} = (W^UQ c^Q_t)_i        q^R_{t,i} = RoPE_t((W^QR c^Q_t)_i)
//   c^KV_t = RMSNorm(W^DKV h_t)
//   k^C_{t,i} = (W^UK c^KV_t)_i       v^C_{t,i} = (W^UV c^KV_t)_i
//   k^R_t  = RoPE_t(W^KR h_t)         (one rotary key for all heads)
//   o_{t,i} = Σ_j softmax_j((q^C_{t,i}·k^C_{j,i} + q^R_{t,i}·k^R_j) / sqrt(d_h + d_h^R)) v^C_{j,i}
//   u_t = W^O [o_{t,1}; …; o_{t,n_h}]
// (·)_i is head i's block of d_h (or d_h^R) rows. j runs over the positions t may see:
// j ≤ t, and with left padding (keyStart) j ≥ min(keyStart, t).
//
// From the paper's equations: everything above except the two RMSNorms. From DeepSeek's
// released code (DeepSeek-V3 inference/model.py, class MLA): the RMSNorm on c^KV and on
// c^Q, y = x / sqrt(mean(x²) + eps) ⊙ g. The RoPE pairing follows this kit's convention
// (coordinate k with k + size/2, angle pos·θ^(−2k/size)); RoFormer pairs neighbours.

export interface HostMLAConfig {
  dModel: number;
  nHeads: number;
  dC: number;
  dCq: number;
  dR: number;
  dH: number;
  ropeTheta: number;
  normEps: number;
}

/** row-major weights, each [out, in] as a Linear stores them; gains [n] */
export interface HostMLAWeights {
  wdq?: ArrayLike<number>;
  qNorm?: ArrayLike<number>;
  /** W^UQ (from c^Q) or W^Q (from h, when dCq = 0) */
  wq: ArrayLike<number>;
  wqr: ArrayLike<number>;
  wdkv: ArrayLike<number>;
  kvNorm: ArrayLike<number>;
  wuk: ArrayLike<number>;
  wuv: ArrayLike<number>;
  wkr: ArrayLike<number>;
  wo: ArrayLike<number>;
}

/** y = W x for W [out, in] */
function matVec(W: ArrayLike<number>, x: number[], out: number): number[] {
  const n = x.length;
  const y: number[] = [];
  for (let o = 0; o < out; o++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += W[o * n + k]! * x[k]!;
    y.push(s);
  }
  return y;
}

function rmsNorm(x: number[], g: ArrayLike<number>, eps: number): number[] {
  let ms = 0;
  for (const v of x) ms += v * v;
  const r = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, k) => v * r * g[k]!);
}

/** rotate pairs (k, k + n/2) of x by pos·θ^(−2k/n) */
function rope(x: number[], pos: number, theta: number): number[] {
  const n = x.length;
  const half = n / 2;
  const y = x.slice();
  for (let k = 0; k < half; k++) {
    const a = pos * Math.pow(theta, (-2 * k) / n);
    y[k] = x[k]! * Math.cos(a) - x[k + half]! * Math.sin(a);
    y[k + half] = x[k]! * Math.sin(a) + x[k + half]! * Math.cos(a);
  }
  return y;
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k]!, 0);
const block = (v: number[], i: number, n: number) => v.slice(i * n, (i + 1) * n);

/**
 * x [B, T, d] (row-major) → u [B, T, d]. keyStart[b]: row b's real tokens start there.
 * scale overrides 1/sqrt(d_h + d_h^R) (tests use it to show a wrong scale is caught).
 */
export function hostMLA(
  c: HostMLAConfig, w: HostMLAWeights, x: ArrayLike<number>, B: number, T: number,
  keyStart: readonly number[] = new Array<number>(B).fill(0), scale = 1 / Math.sqrt(c.dH + c.dR),
): number[] {
  const { dModel: d, nHeads: H, dC, dCq, dR, dH, ropeTheta, normEps } = c;
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    const qC: number[][][] = [], qR: number[][][] = [], kC: number[][][] = [], v: number[][][] = [], kR: number[][] = [];
    for (let t = 0; t < T; t++) {
      const h = Array.from({ length: d }, (_, k) => x[(b * T + t) * d + k]!);
      const cQ = dCq > 0 ? rmsNorm(matVec(w.wdq!, h, dCq), w.qNorm!, normEps) : h;
      const q = matVec(w.wq, cQ, H * dH);
      const qr = matVec(w.wqr, cQ, H * dR);
      const cKV = rmsNorm(matVec(w.wdkv, h, dC), w.kvNorm, normEps);
      const k = matVec(w.wuk, cKV, H * dH);
      const val = matVec(w.wuv, cKV, H * dH);
      qC.push(Array.from({ length: H }, (_, i) => block(q, i, dH)));
      qR.push(Array.from({ length: H }, (_, i) => rope(block(qr, i, dR), t, ropeTheta)));
      kC.push(Array.from({ length: H }, (_, i) => block(k, i, dH)));
      v.push(Array.from({ length: H }, (_, i) => block(val, i, dH)));
      kR.push(rope(matVec(w.wkr, h, dR), t, ropeTheta));
    }
    for (let t = 0; t < T; t++) {
      const heads: number[] = [];
      const first = Math.min(keyStart[b] ?? 0, t);
      for (let i = 0; i < H; i++) {
        const s: number[] = [];
        for (let j = first; j <= t; j++) s.push((dot(qC[t]![i]!, kC[j]![i]!) + dot(qR[t]![i]!, kR[j]!)) * scale);
        const m = Math.max(...s);
        const e = s.map((z) => Math.exp(z - m));
        const Z = e.reduce((a, z) => a + z, 0);
        const o = new Array<number>(dH).fill(0);
        for (let j = first; j <= t; j++) {
          const p = e[j - first]! / Z;
          for (let k = 0; k < dH; k++) o[k]! += p * v[j]![i]![k]!;
        }
        heads.push(...o);
      }
      out.push(...matVec(w.wo, heads, d));
    }
  }
  return out;
}

/**
 * Central differences of L = Σ wOut ⊙ hostMLA(x) with respect to every element of one
 * weight (or of x, when which = "x"), in float64.
 */
export function hostMLAGrad(
  c: HostMLAConfig, w: HostMLAWeights, x: ArrayLike<number>, B: number, T: number, keyStart: readonly number[],
  wOut: ArrayLike<number>, which: keyof HostMLAWeights | "x", eps = 1e-6,
): number[] {
  const loss = (ww: HostMLAWeights, xx: ArrayLike<number>) => hostMLA(c, ww, xx, B, T, keyStart).reduce((s, u, k) => s + u * wOut[k]!, 0);
  const target = Array.from(which === "x" ? x : w[which]!);
  const grad: number[] = [];
  for (let k = 0; k < target.length; k++) {
    const at = (delta: number) => {
      const moved = target.slice();
      moved[k]! += delta;
      return which === "x" ? loss(w, moved) : loss({ ...w, [which]: moved }, x);
    };
    grad.push((at(eps) - at(-eps)) / (2 * eps));
  }
  return grad;
}

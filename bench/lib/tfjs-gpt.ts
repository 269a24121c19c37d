// The lessons' GPT written in TensorFlow.js, op for op the model of src/nn/gpt.ts:
// token embedding → N pre-norm blocks (RMSNorm → causal attention with RoPE and
// grouped key/value heads → residual; RMSNorm → SwiGLU → residual) → RMSNorm → tied
// output head → mean next-token cross-entropy. Weights are loaded from R1 Lab's
// initial weights (same names as model.safetensors), so both libraries start from the
// same point and their first losses and gradient norms must agree: that is the
// benchmark's correctness check.
//
// The training step is TensorFlow.js's own machinery: tf.variableGrads (its tape
// autodiff), global-norm clipping with tf ops, decoupled weight decay, then
// tf.train.adam. Same arithmetic as R1 Lab's AdamW (src/optim/adamw.ts):
//   p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + eps),  g clipped to ‖g‖ ≤ maxGradNorm first.
//
// Gradients must be registered before use: the browser entry imports
// "@tensorflow/tfjs-core/dist/register_all_gradients" (the tfjs umbrella package does
// the same), and the backends are registered by their own packages.

import * as tf from "@tensorflow/tfjs-core";
import type { GPTConfig } from "../../src/nn/gpt.js";
import { tokenBatch, type TrainSpec } from "./common.js";

function prod(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The checkpoint names and shapes of the GPT's parameters (src/nn naming). */
export function gptParameterShapes(c: GPTConfig): Map<string, number[]> {
  const D = c.dModel / c.nHeads;
  const kv = c.nKvHeads * D;
  const m = new Map<string, number[]>();
  m.set("tok_emb.weight", [c.vocabSize, c.dModel]);
  for (let i = 0; i < c.nLayers; i++) {
    const p = `blocks.${i}`;
    m.set(`${p}.attn_norm.weight`, [c.dModel]);
    m.set(`${p}.attn.wq.weight`, [c.dModel, c.dModel]);
    m.set(`${p}.attn.wk.weight`, [kv, c.dModel]);
    m.set(`${p}.attn.wv.weight`, [kv, c.dModel]);
    m.set(`${p}.attn.wo.weight`, [c.dModel, c.dModel]);
    m.set(`${p}.mlp_norm.weight`, [c.dModel]);
    m.set(`${p}.mlp.gate.weight`, [c.dFF, c.dModel]);
    m.set(`${p}.mlp.up.weight`, [c.dFF, c.dModel]);
    m.set(`${p}.mlp.down.weight`, [c.dModel, c.dFF]);
  }
  m.set("norm.weight", [c.dModel]);
  if (!c.tiedHead) m.set("head.weight", [c.vocabSize, c.dModel]);
  return m;
}

export class TfjsGPT {
  /** trainable variables by checkpoint name */
  readonly vars = new Map<string, tf.Variable>();
  private readonly ropeCos: tf.Tensor;
  private readonly ropeSin: tf.Tensor;
  private readonly mask: tf.Tensor;
  private readonly headDim: number;
  /** whether the backend can differentiate tf.gather itself (wasm lacks UnsortedSegmentSum) */
  private readonly gatherHasGrad: boolean;

  constructor(readonly config: GPTConfig, readonly seqLen: number, weights: ReadonlyMap<string, Float32Array>) {
    const c = config;
    if (c.dModel % c.nHeads !== 0 || c.nHeads % c.nKvHeads !== 0) throw new Error("TfjsGPT: bad head configuration");
    this.headDim = c.dModel / c.nHeads;
    for (const [name, shape] of gptParameterShapes(c)) {
      const w = weights.get(name);
      if (!w || w.length !== prod(shape)) throw new Error(`TfjsGPT: weight ${name} missing or not of shape [${shape.join(", ")}]`);
      const init = tf.tensor(w, shape, "float32");
      this.vars.set(name, tf.variable(init, true));
      init.dispose(); // the variable holds its own reference to the data
    }
    // RoPE tables [T, 1, D/2], half-split pairs as kernels/rope.wgsl: angle = t·θ^(−2i/D)
    const T = seqLen;
    const D = this.headDim;
    const half = D / 2;
    const cos = new Float32Array(T * half);
    const sin = new Float32Array(T * half);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < half; i++) {
        const angle = t * Math.pow(c.ropeTheta, (-2 * i) / D);
        cos[t * half + i] = Math.cos(angle);
        sin[t * half + i] = Math.sin(angle);
      }
    }
    this.ropeCos = tf.tensor(cos, [T, 1, half]);
    this.ropeSin = tf.tensor(sin, [T, 1, half]);
    // additive causal mask over [group·T, T]: row r is query position r mod T
    const g = c.nHeads / c.nKvHeads;
    const mask = new Float32Array(g * T * T);
    for (let r = 0; r < g * T; r++) for (let j = (r % T) + 1; j < T; j++) mask[r * T + j] = -1e9;
    this.mask = tf.tensor(mask, [g * T, T]);
    this.gatherHasGrad = tf.getKernel("UnsortedSegmentSum", tf.getBackend()) !== undefined;
  }

  private v(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`TfjsGPT: no variable ${name}`);
    return v;
  }

  /** x [N, in] · Wᵀ, W [out, in] (PyTorch layout, as src/nn/layers.ts) */
  private linear(x: tf.Tensor, name: string): tf.Tensor {
    return tf.matMul(x, this.v(name), false, true);
  }

  private rmsnorm(x: tf.Tensor, name: string): tf.Tensor {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, this.config.normEps))), this.v(name));
  }

  /** x [B, T, H, D] → rotated, half-split pairs */
  private rope(x: tf.Tensor): tf.Tensor {
    const half = this.headDim / 2;
    const [x1, x2] = tf.split(x, [half, half], -1) as [tf.Tensor, tf.Tensor];
    return tf.concat([
      tf.sub(tf.mul(x1, this.ropeCos), tf.mul(x2, this.ropeSin)),
      tf.add(tf.mul(x1, this.ropeSin), tf.mul(x2, this.ropeCos)),
    ], -1);
  }

  /** causal self-attention with grouped key/value heads; x [B·T, C] → [B·T, C] */
  private attention(x: tf.Tensor, B: number, layer: number): tf.Tensor {
    const c = this.config;
    const T = this.seqLen;
    const D = this.headDim;
    const Hkv = c.nKvHeads;
    const g = c.nHeads / Hkv;
    const p = `blocks.${layer}.attn`;
    const q = this.rope(tf.reshape(this.linear(x, `${p}.wq.weight`), [B, T, c.nHeads, D]));
    const k = this.rope(tf.reshape(this.linear(x, `${p}.wk.weight`), [B, T, Hkv, D]));
    const v = tf.reshape(this.linear(x, `${p}.wv.weight`), [B, T, Hkv, D]);
    // query head h = kv·g + j reads kv head kv: fold the g query heads of a group into rows
    const qh = tf.reshape(tf.transpose(tf.reshape(q, [B, T, Hkv, g, D]), [0, 2, 3, 1, 4]), [B, Hkv, g * T, D]);
    const kh = tf.transpose(k, [0, 2, 1, 3]); // [B, Hkv, T, D]
    const vh = tf.transpose(v, [0, 2, 1, 3]);
    const scores = tf.add(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(D)), this.mask);
    const o = tf.matMul(tf.softmax(scores), vh); // [B, Hkv, g·T, D]
    const merged = tf.reshape(tf.transpose(tf.reshape(o, [B, Hkv, g, T, D]), [0, 3, 1, 2, 4]), [B * T, c.dModel]);
    return this.linear(merged, `${p}.wo.weight`);
  }

  private mlp(x: tf.Tensor, layer: number): tf.Tensor {
    const p = `blocks.${layer}.mlp`;
    const gate = this.linear(x, `${p}.gate.weight`);
    return this.linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), this.linear(x, `${p}.up.weight`)), `${p}.down.weight`);
  }

  /** table lookup; on backends without a gather gradient, the gradient is oneHotᵀ·dy */
  private embed(ids: tf.Tensor1D, oneHotIds: tf.Tensor2D): tf.Tensor {
    const table = this.v("tok_emb.weight");
    if (this.gatherHasGrad) return tf.gather(table, ids);
    const f = tf.customGrad((t) => ({
      value: tf.gather(t as tf.Tensor, ids),
      gradFunc: (dy: tf.Tensor) => tf.matMul(oneHotIds, dy, true, false),
    }));
    return f(table);
  }

  /**
   * Mean next-token cross-entropy. ids i32 [B·T], oneHotIds / oneHotTargets f32 [B·T, V]
   * (constant per batch, built once by the trainer).
   */
  loss(ids: tf.Tensor1D, oneHotIds: tf.Tensor2D, oneHotTargets: tf.Tensor2D): tf.Scalar {
    const c = this.config;
    const N = ids.shape[0];
    const B = N / this.seqLen;
    let x = this.embed(ids, oneHotIds); // [B·T, C]: the residual stream stays flat
    for (let i = 0; i < c.nLayers; i++) {
      const h = tf.add(x, this.attention(this.rmsnorm(x, `blocks.${i}.attn_norm.weight`), B, i));
      x = tf.add(h, this.mlp(this.rmsnorm(h, `blocks.${i}.mlp_norm.weight`), i));
    }
    const hN = this.rmsnorm(x, "norm.weight");
    const logits = c.tiedHead ? tf.matMul(hN, this.v("tok_emb.weight"), false, true) : this.linear(hN, "head.weight");
    const logp = tf.logSoftmax(logits);
    return tf.div(tf.neg(tf.sum(tf.mul(oneHotTargets, logp))), N) as tf.Scalar;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.ropeCos.dispose();
    this.ropeSin.dispose();
    this.mask.dispose();
  }
}

/**
 * Σ of many scalars with tf.addN in groups: tfjs-webgpu binds every addN input as
 * a storage buffer, and devices allow as few as 8 per shader stage.
 */
function sumAll(xs: tf.Tensor[]): tf.Tensor {
  let level = xs;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 6) {
      const group = level.slice(i, i + 6);
      next.push(group.length === 1 ? group[0]! : tf.addN(group));
    }
    level = next;
  }
  return level[0]!;
}

export interface TfjsTrainer {
  readonly model: TfjsGPT;
  step(): Promise<{ loss: number; gradNorm: number }>;
  /** the step without waiting for its scalars (for tf.profile); returns them as a tensor */
  stepTensors(): tf.Tensor;
  dispose(): void;
}

/** A TfjsGPT on the current tf backend, with AdamW + clipping as in src/optim/adamw.ts. */
export function tfjsTrainer(spec: TrainSpec, weights: ReadonlyMap<string, Float32Array>, noDecay: ReadonlySet<string>): TfjsTrainer {
  const model = new TfjsGPT(spec.model, spec.seqLen, weights);
  const { ids: hostIds, targets: hostTargets } = tokenBatch(spec);
  const V = spec.model.vocabSize;
  const ids = tf.tensor1d(hostIds, "int32");
  const oneHotIds = tf.tidy(() => tf.cast(tf.oneHot(ids, V), "float32")) as tf.Tensor2D;
  const oneHotTargets = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(hostTargets, "int32"), V), "float32")) as tf.Tensor2D;
  const adam = tf.train.adam(spec.lr, spec.beta1, spec.beta2, spec.eps);
  const names = [...model.vars.keys()];
  const varList = names.map((n) => model.vars.get(n)!);
  const decay = 1 - spec.lr * spec.weightDecay;

  function stepTensors(): tf.Tensor {
    const { value, grads } = tf.variableGrads(() => model.loss(ids, oneHotIds, oneHotTargets), varList);
    const out = tf.tidy(() => {
      const sumSq = sumAll(varList.map((v) => tf.sum(tf.square(grads[v.name]!))));
      const coef = spec.maxGradNorm > 0
        ? tf.minimum(1, tf.div(spec.maxGradNorm, tf.add(tf.sqrt(sumSq), 1e-6)))
        : tf.scalar(1);
      const clipped: { name: string; tensor: tf.Tensor }[] = [];
      names.forEach((n, i) => {
        const v = varList[i]!;
        if (!noDecay.has(n) && decay !== 1) v.assign(tf.mul(v, decay));
        clipped.push({ name: v.name, tensor: tf.mul(grads[v.name]!, coef) });
      });
      adam.applyGradients(clipped);
      return tf.stack([value, sumSq]);
    });
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    return out;
  }

  return {
    model,
    stepTensors,
    async step() {
      const t = stepTensors();
      const v = await t.data();
      t.dispose();
      return { loss: v[0]!, gradNorm: Math.sqrt(v[1]!) };
    },
    dispose() {
      adam.dispose();
      model.dispose();
      ids.dispose();
      oneHotIds.dispose();
      oneHotTargets.dispose();
    },
  };
}

// DeepSeekMoE, the mixture-of-experts feed-forward layer of DeepSeek-V2 and V3.
//
// The idea. A dense transformer block runs every token through one big feed-forward
// network (FFN). An MoE block has many smaller FFNs, the *experts*, and a small
// *router* that picks, for each token, the k experts it should use. Parameters grow
// with the number of experts; the work per token grows only with k.
//
// DeepSeekMoE adds two twists to that:
//  - fine-grained experts: instead of a few big experts, many small ones (V3: 256 of
//    width 2048, 8 chosen per token), so a token can mix more, narrower specialists;
//  - shared experts: a few experts every token always uses (V3: 1). They learn what
//    every token needs, so the routed experts do not all have to learn it again.
// The layer's output for a token u (the block adds the residual around it) is
//
//   h' = Σ_shared FFN_s(u) + Σ_routed g_i · FFN_i(u),   g_i = 0 unless the router chose i.
//
// Every expert is a SwiGLU FFN of width expertDim; the shared experts are fused into
// one SwiGLU of width nShared·expertDim, as in DeepSeek's code.
//
// The router. Expert i has a learned vector e_i; the token's affinity to it is the
// logit u·e_i, turned into a score s_i in one of two ways:
//  - "softmax" (V2): s = softmax over the experts. The gates are the scores of the k
//    chosen experts, NOT renormalised (they sum to less than 1).
//  - "sigmoid" (V3): s_i = sigmoid(u·e_i), each expert judged on its own. The gates
//    are the chosen scores divided by their sum (they sum to 1).
// Both are then multiplied by routeScale (1 here by default; DeepSeek's code uses
// 2.5 for V3 and 16 for V2). The choice (top-k) has no gradient; the gates do: the
// router learns through how much each chosen expert's output is weighted.
//
// Collapse. Routing feeds on itself: the expert chosen most gets the most training,
// gets better, and is chosen even more. Left alone, training can end with (almost)
// every token on one expert and the others dead weight. Two remedies, both here:
//  - a balance loss (V2's expert-level loss; V3's "complementary sequence-wise" loss,
//    the same formula over each sequence): L_Bal = α Σ_i f_i P_i, where f_i is expert
//    i's share of the router's top-k picks (scaled so that 1 = a fair share; the
//    picks by the scores alone, without the bias below, as in V3's equation) and P_i
//    its mean normalised score. It is smallest when both are uniform. f counts picks,
//    which has no gradient; the loss pushes the scores P of over-picked experts down.
//    Its cost: a second objective that can fight the language-model loss.
//  - auxiliary-loss-free balancing (V3): a bias b_i is added to the scores ONLY to
//    decide which experts are chosen; the gates still use the unbiased scores. It is
//    not trained by gradients: after each step, b_i += γ·sign(mean load − load_i), so
//    an overloaded expert becomes a little harder to pick and an idle one easier.
//    V3 relies on this, with only a tiny balance loss (α = 0.0001) as a complement.
// Both count only the positions the loss counts: MoE.forward takes the batch's loss
// mask, so padding and prompt tokens neither enter the balance loss nor the load
// that the bias follows (they are still routed: their outputs are computed).
// To see collapse coming, each forward records per expert how many tokens chose it
// (the load) and the router's entropy; expertLoad() turns them into the numbers the
// lesson plots: each expert's share, max/mean load (1 = balanced, E/k = collapsed)
// and the entropy of the router's scores (log E = undecided, 0 = certain).
//
// What is left out, because the course trains on one device. DeepSeek spreads the
// experts of a layer over many GPUs and nodes, and three parts of the
// recipe exist only to tame that communication; none of them changes what a single
// device computes, so none is here:
//  - device-limited (V2: each token's experts on at most M = 3 devices) and
//    node-limited routing (V3: at most M = 4 nodes, ranked by the sum of each node's
//    best K/M scores), which DeepSeek's code does as "groups" of experts;
//  - V2's device-level and communication balance losses (α₂, α₃), which balance the
//    devices and the traffic between them rather than the experts;
//  - token dropping (V2 in training, capacity factor 1): an expert over its capacity
//    drops the lowest-scoring tokens. V3 drops none, and neither does this file:
//    every token always gets its k experts.
//
// How the routed experts are computed: two ways, chosen by cfg.dispatch.
// DENSE DISPATCH (the default, and the reference the other is tested against): EVERY
// routed expert runs on EVERY token, as one batched matmul over the stacked expert
// weights [E, …], and the outputs are combined with gate weights [N, E] that are zero
// where an expert was not chosen.
//  - It gives identical outputs and gradients: an unchosen expert's output is
//    multiplied by 0, so it adds nothing forward, and its weights get a zero
//    gradient from that token, exactly as if it had never run.
//  - It costs E/k times the FLOPs of the routed experts (the router and the shared
//    experts cost the same either way).
// SPARSE DISPATCH (dispatch: "sparse"): each expert runs on its own tokens only,
// which is the point of an MoE. The N·k (token, expert) pairs are sorted by expert
// (a histogram of the choices and its prefix sum give each expert's block of rows),
// the tokens are gathered in that order, one grouped matmul runs every expert on its
// block, and the rows go back to their tokens times their gates. The number of rows
// is always N·k, so every buffer has a size known before the step: no readback of
// the routing in the middle of a step (which would stall the GPU), and no token is
// ever dropped. See sparseRoutedExperts and data/results/moe-dispatch.json for what
// it saves. The router, and so everything about balance and collapse, is the same
// either way.
import type { Engine, Tensor } from "../tensor/engine.js";
import type { Rng } from "../tensor/random.js";
import { SwiGLU } from "./layers.js";
import { Module } from "./module.js";

/** how a token's affinities to the experts become scores: V2's softmax or V3's sigmoid */
export type RouterScoring = "softmax" | "sigmoid";

export interface RouterConfig {
  dModel: number;
  /** number of routed experts E */
  nRouted: number;
  /** experts chosen per token k */
  topK: number;
  scoring: RouterScoring;
  /** gates are multiplied by this (default 1) */
  routeScale: number;
}

/** how the routed experts are run: every expert on every token ("dense"), or each on its own tokens ("sparse") */
export type Dispatch = "dense" | "sparse";

export interface MoEConfig extends RouterConfig {
  /** always-on experts, fused into one SwiGLU of width nShared·expertDim (0 = none) */
  nShared: number;
  /** hidden width of each expert's SwiGLU */
  expertDim: number;
  /** weight α of the sequence-wise balance loss; 0 = no balance loss */
  balanceAlpha: number;
  /** dense (the default, the reference) or sparse dispatch; the same outputs and gradients */
  dispatch?: Dispatch;
}

const isPositiveInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** throws an Error that names the bad field and says what it must be */
export function validateMoEConfig(c: MoEConfig): void {
  if (!isPositiveInt(c.dModel)) throw new Error(`MoE config: dModel must be a positive integer, got ${String(c.dModel)}`);
  if (!isPositiveInt(c.nRouted)) {
    throw new Error(`MoE config: nRouted (routed experts) must be a positive integer, got ${String(c.nRouted)}; a layer with no routed experts is a dense FFN`);
  }
  if (!isCount(c.nShared)) throw new Error(`MoE config: nShared (shared experts) must be an integer ≥ 0, got ${String(c.nShared)}`);
  if (!isPositiveInt(c.topK) || c.topK > c.nRouted) {
    throw new Error(`MoE config: topK (experts chosen per token) must be an integer in 1..nRouted = 1..${c.nRouted}, got ${String(c.topK)}`);
  }
  if (!isPositiveInt(c.expertDim)) throw new Error(`MoE config: expertDim (each expert's hidden width) must be a positive integer, got ${String(c.expertDim)}`);
  if (c.scoring !== "softmax" && c.scoring !== "sigmoid") {
    throw new Error(`MoE config: scoring must be "softmax" (DeepSeek-V2) or "sigmoid" (DeepSeek-V3), got ${JSON.stringify(c.scoring)}`);
  }
  if (typeof c.routeScale !== "number" || !Number.isFinite(c.routeScale) || c.routeScale <= 0) {
    throw new Error(`MoE config: routeScale must be a positive number, got ${String(c.routeScale)}`);
  }
  if (c.dispatch !== undefined && c.dispatch !== "dense" && c.dispatch !== "sparse") {
    throw new Error(`MoE config: dispatch must be "dense" or "sparse", got ${JSON.stringify(c.dispatch)}`);
  }
  if (typeof c.balanceAlpha !== "number" || !Number.isFinite(c.balanceAlpha) || c.balanceAlpha < 0) {
    throw new Error(`MoE config: balanceAlpha must be a number ≥ 0 (0 = no balance loss), got ${String(c.balanceAlpha)}`);
  }
}

/** What the router decided for N tokens. Tensors live in the scope that made them. */
export interface Routing {
  /** the affinities u·e_i [N, E] */
  logits: Tensor;
  /** s: softmax (V2) or sigmoid (V3) of the logits [N, E] */
  scores: Tensor;
  /** the scores normalised to sum 1 per token (the scores themselves for softmax) [N, E] */
  probs: Tensor;
  /** the chosen experts, i32 [N, k], best (by biased score) first; no gradient */
  indices: Tensor;
  /** 1 where a token chose the expert, else 0 [N, E]; no gradient */
  mask: Tensor;
  /** the gate weights g [N, E], zero for experts not chosen; differentiable */
  weights: Tensor;
  /** the gates of the chosen experts [N, k] (weights at indices) */
  gates: Tensor;
}

/**
 * The router: scores every token against every expert, picks k by score + bias,
 * and gives gate weights from the unbiased scores.
 */
export class Router extends Module {
  /** the expert vectors e_i as rows [E, dModel] (saved as "router.weight") */
  readonly weight: Tensor;
  /**
   * The aux-loss-free balancing bias b [E] (host copy). It only changes which experts
   * are chosen, is not a parameter (no gradient, not in parameters()), and is changed
   * by updateBias or setBias, which upload it. Checkpoints carry it as the buffer
   * "bias", so a resumed run routes as the uninterrupted one would.
   */
  /** float32, like its device copy, so a checkpoint saves and restores it exactly */
  readonly bias: Float32Array;
  private readonly biasTensor: Tensor;

  constructor(engine: Engine, readonly cfg: RouterConfig, rng: Rng) {
    super(engine);
    const E = cfg.nRouted;
    this.weight = this.param("weight", [E, cfg.dModel], { rng, std: 1 / Math.sqrt(cfg.dModel) });
    this.bias = new Float32Array(E);
    this.biasTensor = engine.persistent(engine.backend.fill([E], 0, "f32"));
    this.buffer({ name: "bias", shape: [E], read: () => this.bias.slice(), write: (v) => this.setBias(v) });
  }

  /** x [N, dModel] → the routing of each token */
  forward(x: Tensor): Routing {
    const e = this.engine;
    const { topK: k, scoring, routeScale } = this.cfg;
    const N = x.shape[0]!;
    const logits = e.matmul(x, this.weight, { transB: true }); // [N, E]
    const scores = scoring === "softmax" ? e.softmax(logits) : e.sigmoid(logits);
    const probs = scoring === "softmax" ? scores : e.div(scores, e.sum(scores, -1));
    // The choice: top-k of score + bias. The bias steers the choice only, so no gradient.
    const indices = e.noGrad(() => e.topk(e.add(scores, this.biasTensor), k).indices);
    const mask = this.oneHot(indices, N);
    // mask ⊙ s is s gathered at the chosen experts and put back in place: the gates
    // stay a differentiable function of the (unbiased) scores, zero elsewhere.
    const chosen = e.mul(mask, scores);
    let weights = scoring === "softmax" ? chosen : e.div(chosen, e.sum(chosen, -1));
    if (routeScale !== 1) weights = e.scale(weights, routeScale);
    return { logits, scores, probs, indices, mask, weights, gates: e.gatherLast(weights, indices) };
  }

  /** a 0/1 mask of chosen experts [N, E]: ones scattered at the indices i32 [N, k]; no gradient */
  private oneHot(indices: Tensor, N: number): Tensor {
    const e = this.engine;
    const ones = e.backend.fill([N, this.cfg.topK], 1, "f32");
    const mask = e.wrap(e.backend.scatterAddLast(ones, indices.raw, this.cfg.nRouted));
    e.backend.free(ones);
    return mask;
  }

  /** the 0/1 mask [N, E] of each token's top-k by its scores alone, as if there were no bias */
  choiceMask(scores: Tensor): Tensor {
    const e = this.engine;
    return e.noGrad(() => this.oneHot(e.topk(scores, this.cfg.topK).indices, scores.shape[0]!));
  }

  /** whether any expert's bias is non-zero (then the biased choice can differ from the unbiased one) */
  hasBias(): boolean {
    return this.bias.some((b) => b !== 0);
  }

  /** replace the bias (E values) and upload it */
  setBias(values: ArrayLike<number>): void {
    if (values.length !== this.bias.length) throw new Error(`Router.setBias: ${values.length} values for ${this.bias.length} experts`);
    this.bias.set(Array.from(values));
    this.engine.assign(this.biasTensor, this.bias);
  }

  /**
   * Auxiliary-loss-free balancing, once after each step: b_i += γ·sign(mean load − load_i).
   * load: tokens per expert (ExpertLoad.tokens). Experts above the mean get harder to
   * pick, experts below it easier; one exactly at the mean keeps its bias.
   */
  updateBias(load: ArrayLike<number>, gamma: number): void {
    const E = this.bias.length;
    if (load.length !== E) throw new Error(`Router.updateBias: a load for ${load.length} experts, the router has ${E}`);
    if (!Number.isFinite(gamma) || gamma < 0) throw new Error(`Router.updateBias: gamma must be a number ≥ 0, got ${gamma}`);
    let mean = 0;
    for (let i = 0; i < E; i++) mean += load[i]! / E;
    for (let i = 0; i < E; i++) this.bias[i]! += gamma * Math.sign(mean - load[i]!);
    this.engine.assign(this.biasTensor, this.bias);
  }

  override dispose(): void {
    super.dispose();
    this.biasTensor.dispose();
  }
}

/** One step's routing statistics of an MoE layer, on the host (see expertLoad). */
export interface ExpertLoad {
  /** tokens routed to each expert; a token counts once for each of its k experts */
  tokens: number[];
  /** each expert's share of the routed work, tokens_i / Σ tokens (1/E each when balanced) */
  fraction: number[];
  /** max load / mean load: 1 = balanced, E/k = every token picks the same k experts */
  imbalance: number;
  /** mean over tokens of −Σ_i p_i log p_i, p the normalised scores (nats) */
  routerEntropy: number;
  /** log E: the router entropy of a router that cannot tell the experts apart */
  maxEntropy: number;
}

/**
 * An MoE layer's statistics row (MoE.stats: E token counts, then the router entropy),
 * as host numbers.
 */
export function expertLoad(row: ArrayLike<number>, nRouted: number): ExpertLoad {
  if (row.length !== nRouted + 1) throw new Error(`expertLoad: expected ${nRouted + 1} values (${nRouted} loads, the entropy), got ${row.length}`);
  const tokens = Array.from({ length: nRouted }, (_, i) => row[i]!);
  const total = tokens.reduce((a, b) => a + b, 0);
  const fraction = tokens.map((t) => (total > 0 ? t / total : 0));
  const mean = total / nRouted;
  return {
    tokens, fraction,
    imbalance: mean > 0 ? Math.max(...tokens) / mean : 0,
    routerEntropy: row[nRouted]!,
    maxEntropy: Math.log(nRouted),
  };
}

/** The DeepSeekMoE feed-forward layer: shared experts + routed experts chosen by a Router. */
export class MoE extends Module {
  readonly router: Router;
  /** the shared experts fused into one SwiGLU of width nShared·expertDim (null when nShared = 0) */
  readonly shared: SwiGLU | null;
  /** the routed experts' SwiGLU weights stacked on a first axis of size E, [out, in] each */
  readonly wGate: Tensor; // [E, expertDim, dModel]
  readonly wUp: Tensor; // [E, expertDim, dModel]
  readonly wDown: Tensor; // [E, dModel, expertDim]
  /**
   * The balance loss of the last forward (null when balanceAlpha = 0). It lives in the
   * scope of that forward: add it to the loss there.
   */
  lastBalanceLoss: Tensor | null = null;
  /**
   * The last forward's statistics [E + 1]: tokens per expert, then the mean router
   * entropy. Kept past the forward's scope (replaced by the next forward) so a
   * training loop can read it after its step; expertLoad() makes it readable.
   */
  lastStats: Tensor | null = null;
  /** the last forward's choices, i32 [N, k] (best first), kept like lastStats: which experts each token went to */
  lastIndices: Tensor | null = null;

  constructor(engine: Engine, readonly cfg: MoEConfig, rng: Rng, residualStd?: number) {
    super(engine);
    validateMoEConfig(cfg);
    const { dModel: C, nRouted: E, expertDim: H, nShared } = cfg;
    this.router = this.child("router", new Router(engine, cfg, rng));
    this.shared = nShared > 0 ? this.child("shared", new SwiGLU(engine, C, nShared * H, rng, residualStd)) : null;
    // the same initial scales as SwiGLU's Linears, one expert after another
    this.wGate = this.param("experts.gate.weight", [E, H, C], { rng, std: 1 / Math.sqrt(C) });
    this.wUp = this.param("experts.up.weight", [E, H, C], { rng, std: 1 / Math.sqrt(C) });
    this.wDown = this.param("experts.down.weight", [E, C, H], { rng, std: residualStd ?? 1 / Math.sqrt(H) });
  }

  /**
   * x [B, T, dModel] (B sequences of T tokens) or [N, dModel] (one sequence) → the
   * same shape. The balance loss is taken per sequence, then averaged over them.
   *
   * tokenMask (f32 [B, T] or [N], 1 = count, 0 = skip; the loss mask of the batch):
   * which positions the balance loss and the load statistics count. Padding and
   * prompt positions are still routed (their outputs are computed and passed on),
   * but a padded batch must not teach the router to balance the padding. Without a
   * mask every position counts.
   */
  forward(x: Tensor, tokenMask: Tensor | null = null): Tensor {
    const e = this.engine;
    const shape = x.shape;
    const C = this.cfg.dModel;
    if (shape[shape.length - 1] !== C || (shape.length !== 2 && shape.length !== 3)) {
      throw new Error(`MoE: expected x of shape [B, T, ${C}] or [N, ${C}], got [${shape.join(", ")}]`);
    }
    const N = x.size / C;
    const [B, T] = shape.length === 3 ? [shape[0]!, shape[1]!] : [1, N];
    if (tokenMask && tokenMask.size !== N) {
      throw new Error(`MoE: tokenMask has ${tokenMask.size} values for ${N} tokens (expected shape [${B}, ${T}])`);
    }
    const flat = e.reshape(x, [N, C]);
    const r = this.router.forward(flat);
    let out = this.cfg.dispatch === "sparse" ? this.sparseRoutedExperts(flat, r) : this.routedExperts(flat, r.weights);
    if (this.shared) out = e.add(out, this.shared.forward(flat));
    const m = tokenMask ? e.reshape(tokenMask, [N, 1]) : null;
    this.lastBalanceLoss = this.cfg.balanceAlpha > 0 ? this.balanceLoss(r, B, T, m) : null;
    this.lastStats?.dispose();
    this.lastStats = e.keep(this.statistics(r, m));
    this.lastIndices?.dispose();
    this.lastIndices = e.keep(r.indices);
    return e.reshape(out, shape);
  }

  /**
   * Σ_i g_i FFN_i(x) by dense dispatch: every expert on every token (one batched
   * matmul per weight), then each output scaled by its gate (0 if not chosen) and
   * summed over the experts. x [N, C], weights [N, E] → [N, C].
   */
  routedExperts(x: Tensor, weights: Tensor): Tensor {
    const e = this.engine;
    const [N, C] = x.shape as [number, number];
    const E = this.cfg.nRouted;
    // x [N, C] is shared by the E batches of [E, H, C]ᵀ → [E, N, H]
    const hidden = e.mul(e.silu(e.matmul(x, this.wGate, { transB: true })), e.matmul(x, this.wUp, { transB: true }));
    const y = e.matmul(hidden, this.wDown, { transB: true }); // [E, N, C]
    const g = e.reshape(e.transpose(weights, 0, 1), [E, N, 1]);
    return e.reshape(e.sum(e.mul(y, g), 0), [N, C]);
  }

  /**
   * Σ_i g_i FFN_i(x) by SPARSE DISPATCH: each expert runs on its own tokens only.
   * The N·k (token, expert) pairs are sorted by expert (moeSort: a histogram of the
   * choices and its prefix sum give each expert's block of rows), the tokens are
   * gathered into that order, each Linear of the experts is one grouped matmul over
   * the blocks, and each row goes back to its token (a permutation, undone in the
   * backward pass by its inverse) times its gate, the k rows of a token summed. Every buffer has a size known in advance (N·k rows), so nothing is
   * read back in the middle of the step; no token is dropped. x [N, C] → [N, C].
   */
  sparseRoutedExperts(x: Tensor, r: Routing): Tensor {
    const e = this.engine;
    const [N, C] = x.shape as [number, number];
    const { nRouted: E, topK: k } = this.cfg;
    const { offsets, tokens, slot, order } = e.moeSort(r.indices, E);
    const xs = e.moeGather(x, tokens, slot); // [N·k, C], expert by expert
    const hidden = e.mul(e.silu(e.groupedMatmul(xs, this.wGate, offsets)), e.groupedMatmul(xs, this.wUp, offsets)); // [N·k, H]
    const ys = e.groupedMatmul(hidden, this.wDown, offsets); // [N·k, C]
    const back = e.reshape(e.permuteRows(ys, e.reshape(slot, [N * k]), order), [N, k, C]); // token order again
    return e.reshape(e.sum(e.mul(back, e.reshape(r.gates, [N, k, 1])), 1), [N, C]);
  }

  /**
   * L_Bal = α · mean over sequences of Σ_i f_i P_i (DeepSeek-V3 eqs. 17–20; V2's
   * expert-level loss is the same with softmax scores), over one sequence of T tokens:
   *   f_i = E/(k·T) · (tokens whose top-k of the UNBIASED scores holds i),
   *   P_i = (1/T) Σ_t p_{i,t},  p the scores normalised to sum 1 per token.
   * The E/(k·T) makes f_i = 1 for a fair share, so a balanced router gives Σ f_i P_i = 1.
   * f counts the unbiased top-k, as V3's equation does, not the choice the bias made:
   * the loss judges the router's own preferences, which the bias is there to
   * counteract; counting the biased choice would let the bias hide an imbalance the
   * router still has. (Without a bias the two are the same.)
   * With a token mask m, T is the sequence's counted tokens Σ_t m_t and only those
   * enter f and P; a sequence with none counts for nothing, and the mean is over the
   * sequences that have some.
   */
  balanceLoss(r: Routing, B: number, T: number, m: Tensor | null = null): Tensor {
    const e = this.engine;
    const { nRouted: E, topK: k, balanceAlpha } = this.cfg;
    const unbiased = this.router.hasBias() ? e.noGrad(() => this.router.choiceMask(r.scores)) : r.mask; // [N, E], no gradient
    if (!m) {
      const f = e.scale(e.sum(e.reshape(unbiased, [B, T, E]), 1), E / (k * T)); // [B, 1, E]
      const P = e.mean(e.reshape(r.probs, [B, T, E]), 1); // [B, 1, E]
      return e.scale(e.sumAll(e.mul(f, P)), balanceAlpha / B);
    }
    const mb = e.reshape(m, [B, T, 1]);
    const { perSeq, seqs } = e.noGrad(() => {
      const counted = e.sum(mb, 1); // [B, 1, 1]: T_b
      return { perSeq: e.clamp(counted, 1, 1e30), seqs: e.sumAll(e.clamp(counted, 0, 1)) };
    });
    const f = e.div(e.scale(e.sum(e.mul(e.reshape(unbiased, [B, T, E]), mb), 1), E / k), perSeq); // [B, 1, E]
    const P = e.div(e.sum(e.mul(e.reshape(r.probs, [B, T, E]), mb), 1), perSeq); // [B, 1, E]
    const total = e.sumAll(e.mul(f, P)); // [1]
    return e.scale(e.div(total, e.noGrad(() => e.clamp(seqs, 1, 1e30))), balanceAlpha);
  }

  /** tokens per expert and mean router entropy over the counted tokens, [E + 1], computed on the device */
  private statistics(r: Routing, m: Tensor | null): Tensor {
    const e = this.engine;
    const [N, E] = r.mask.shape as [number, number];
    return e.noGrad(() => {
      const load = e.reshape(e.sum(m ? e.mul(r.mask, m) : r.mask, 0), [E]);
      // p log p → 0 as p → 0: the clamp keeps log finite where a score underflowed to 0
      const plogp = e.sum(e.mul(r.probs, e.log(e.clamp(r.probs, 1e-30, 1))), 1); // [N, 1]
      const entropy = m
        ? e.div(e.neg(e.sumAll(e.mul(plogp, m))), e.clamp(e.sumAll(m), 1, 1e30))
        : e.scale(e.sumAll(plogp), -1 / N);
      return e.concat([load, entropy], 0);
    });
  }

  /** read the last forward's statistics (one readback) */
  async readLoad(): Promise<ExpertLoad> {
    if (!this.lastStats) throw new Error("MoE.readLoad: no forward pass has run yet");
    return expertLoad(await this.lastStats.data(), this.cfg.nRouted);
  }

  /** aux-loss-free balancing: see Router.updateBias */
  updateBias(load: ArrayLike<number>, gamma: number): void {
    this.router.updateBias(load, gamma);
  }

  /** parameters one token uses: the router, the shared experts and k routed experts */
  activeParameterCount(): number {
    const { dModel: C, nRouted: E, topK: k, expertDim: H } = this.cfg;
    return this.parameterCount() - (E - k) * 3 * C * H;
  }

  override dispose(): void {
    this.router.dispose(); // its bias is not in the registry
    super.dispose();
    this.lastStats?.dispose();
    this.lastStats = null;
    this.lastIndices?.dispose();
    this.lastIndices = null;
  }
}

/**
 * Forward FLOPs per token of one MoE layer as a sparse implementation runs it (2 per
 * multiply-add): the router, the shared experts and the k ACTIVE routed experts.
 * This file's dense dispatch runs all E routed experts, E/k times the routed part.
 */
export function moeFlopsPerToken(c: MoEConfig): number {
  const { dModel: C, nRouted: E, topK: k, expertDim: H, nShared } = c;
  return 2 * C * E + 2 * 3 * C * H * (nShared + k);
}

/** Forward FLOPs per token of one MoE layer as it is run: sparse dispatch = moeFlopsPerToken; dense runs all E routed experts */
export function moeDispatchFlopsPerToken(c: MoEConfig, dispatch: Dispatch): number {
  const { dModel: C, nRouted: E, topK: k, expertDim: H } = c;
  return moeFlopsPerToken(c) + (dispatch === "dense" ? 2 * 3 * C * H * (E - k) : 0);
}

// The basic layers. Weights follow PyTorch's layout ([out, in] for a Linear), so a
// checkpoint opens in PyTorch with the shapes people expect.
import type { Engine, Tensor } from "../tensor/engine.js";
import type { Rng } from "../tensor/random.js";
import { Module } from "./module.js";

/** y = x Wᵀ (+ b). x: [N, in] → [N, out] */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(engine: Engine, readonly inFeatures: number, readonly outFeatures: number, rng: Rng, opts: { bias?: boolean; std?: number } = {}) {
    super(engine);
    this.weight = this.param("weight", [outFeatures, inFeatures], { rng, std: opts.std ?? 1 / Math.sqrt(inFeatures) });
    this.bias = opts.bias ? this.param("bias", [outFeatures], { value: 0 }, false) : null;
  }
  forward(x: Tensor): Tensor {
    const y = this.engine.matmul(x, this.weight, { transB: true });
    return this.bias ? this.engine.add(y, this.bias) : y;
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(engine: Engine, readonly count: number, readonly dim: number, rng: Rng, std = 0.02) {
    super(engine);
    this.weight = this.param("weight", [count, dim], { rng, std });
  }
  /** ids i32 of any shape → [...ids.shape, dim] */
  forward(ids: Tensor): Tensor {
    return this.engine.embedding(this.weight, ids);
  }
}

/** x / rms(x) · g: LayerNorm without the mean and the bias, as in LLaMA and DeepSeek */
export class RMSNorm extends Module {
  readonly weight: Tensor;
  constructor(engine: Engine, readonly dim: number, readonly eps = 1e-5) {
    super(engine);
    this.weight = this.param("weight", [dim], { value: 1 }, false);
  }
  forward(x: Tensor): Tensor {
    return this.engine.rmsnorm(x, this.weight, this.eps);
  }
}

/** SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)) */
export class SwiGLU extends Module {
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;
  constructor(engine: Engine, dim: number, hidden: number, rng: Rng, residualStd?: number) {
    super(engine);
    this.gate = this.child("gate", new Linear(engine, dim, hidden, rng));
    this.up = this.child("up", new Linear(engine, dim, hidden, rng));
    this.down = this.child("down", new Linear(engine, hidden, dim, rng, residualStd ? { std: residualStd } : {}));
  }
  forward(x: Tensor): Tensor {
    const e = this.engine;
    return this.down.forward(e.mul(e.silu(this.gate.forward(x)), this.up.forward(x)));
  }
}

/** A plain two-layer perceptron, the engine's first test model. */
export class MLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(engine: Engine, inputs: number, hidden: number, outputs: number, rng: Rng, readonly activation: "gelu" | "relu" | "tanh" = "gelu") {
    super(engine);
    this.fc1 = this.child("fc1", new Linear(engine, inputs, hidden, rng, { bias: true }));
    this.fc2 = this.child("fc2", new Linear(engine, hidden, outputs, rng, { bias: true }));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.engine.unary(this.activation, this.fc1.forward(x)));
  }
}

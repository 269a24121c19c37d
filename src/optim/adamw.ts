// AdamW with global-norm gradient clipping, all on the device.
//
// A step is: Σg² over every gradient (one reduction), a clip coefficient from it
// (min(1, maxNorm/‖g‖), or 0 when ‖g‖ is not finite), then one fused AdamW kernel
// per parameter that scales its gradient by that coefficient on the fly. Nothing
// is read back: the caller may read `gradNormSq` later, asynchronously.

import type { AdamWHyper, RawTensor } from "../tensor/backend.js";
import type { Engine, Tensor } from "../tensor/engine.js";

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global gradient norm to this; 0 disables clipping */
  maxGradNorm: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };

export interface StepResult {
  /** Σg² before clipping, shape [1]; caller owns it (free with backend.free or read it) */
  gradNormSq: RawTensor;
}

export class AdamW {
  readonly config: AdamWConfig;
  private m: RawTensor[];
  private v: RawTensor[];
  /** number of updates taken so far (bias correction uses it) */
  stepCount = 0;

  constructor(
    private engine: Engine,
    readonly params: readonly Tensor[],
    config: Partial<AdamWConfig> = {},
    /** parameters (by index) that get no weight decay: norms' gains, biases */
    private noDecay: ReadonlySet<number> = new Set(),
  ) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    const b = engine.backend;
    this.m = params.map((p) => b.fill(p.shape, 0, "f32"));
    this.v = params.map((p) => b.fill(p.shape, 0, "f32"));
  }

  /** one update from the accumulated .grad of every parameter; then the grads are cleared */
  step(lr = this.config.lr): StepResult {
    const b = this.engine.backend;
    const withGrad = this.params.map((p, i) => ({ p, i })).filter(({ p }) => p.grad);
    if (withGrad.length === 0) throw new Error("AdamW.step: no parameter has a gradient (did you call backward?)");
    const gradNormSq = b.sumSquares(withGrad.map(({ p }) => p.grad!.raw));
    const coef = b.clipCoefficient(gradNormSq, this.config.maxGradNorm);
    this.stepCount++;
    for (const { p, i } of withGrad) {
      const hyper: AdamWHyper = {
        lr,
        beta1: this.config.beta1,
        beta2: this.config.beta2,
        eps: this.config.eps,
        weightDecay: this.noDecay.has(i) ? 0 : this.config.weightDecay,
        step: this.stepCount,
      };
      b.adamw(p.raw, p.grad!.raw, this.m[i]!, this.v[i]!, hyper, coef);
    }
    b.free(coef);
    this.engine.zeroGrad(this.params);
    return { gradNormSq };
  }

  /** optimiser state for checkpoints: first and second moments, in parameter order */
  state(): { m: readonly RawTensor[]; v: readonly RawTensor[] } {
    return { m: this.m, v: this.v };
  }

  /** replace the moments (resuming from a checkpoint) */
  loadState(m: RawTensor[], v: RawTensor[], stepCount: number): void {
    const b = this.engine.backend;
    for (const t of [...this.m, ...this.v]) b.free(t);
    this.m = m;
    this.v = v;
    this.stepCount = stepCount;
  }

  dispose(): void {
    const b = this.engine.backend;
    for (const t of [...this.m, ...this.v]) b.free(t);
    this.m = [];
    this.v = [];
  }
}

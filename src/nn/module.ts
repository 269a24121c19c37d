// Parameters with stable names: the names are the keys in model.safetensors.
import type { Engine, Tensor } from "../tensor/engine.js";
import type { Rng } from "../tensor/random.js";

export interface NamedParameter {
  name: string;
  tensor: Tensor;
  /** weight decay applies to matrices, not to norm gains */
  decay: boolean;
}

/**
 * State saved with the weights that is not trained: no gradient, no optimiser (an
 * MoE router's balancing bias). It lives on the host; the module keeps any device
 * copy in step through `write`.
 */
export interface NamedBuffer {
  name: string;
  shape: number[];
  /** the current values, for saving */
  read(): Float32Array;
  /** new values, when a checkpoint is loaded */
  write(values: ArrayLike<number>): void;
}

/** Anything with parameters. Modules register theirs under a name prefix. */
export abstract class Module {
  protected readonly registry: NamedParameter[] = [];
  private readonly bufferRegistry: NamedBuffer[] = [];
  constructor(readonly engine: Engine) {}

  /** register untrained state that checkpoints must carry (see NamedBuffer) */
  protected buffer(b: NamedBuffer): void {
    this.bufferRegistry.push(b);
  }

  protected param(name: string, shape: number[], init: { rng: Rng; std: number } | { value: number }, decay = true): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = "rng" in init ? init.rng.normals(n, init.std) : new Float32Array(n).fill(init.value);
    const tensor = this.engine.parameter(data, shape);
    this.registry.push({ name, tensor, decay });
    return tensor;
  }

  protected child<M extends Module>(prefix: string, m: M): M {
    for (const p of m.parameters()) this.registry.push({ ...p, name: `${prefix}.${p.name}` });
    for (const b of m.buffers()) this.bufferRegistry.push({ ...b, name: `${prefix}.${b.name}` });
    return m;
  }

  parameters(): NamedParameter[] {
    return this.registry;
  }

  /** untrained state saved with the weights (none for most modules) */
  buffers(): NamedBuffer[] {
    return this.bufferRegistry;
  }

  /** total number of scalar parameters */
  parameterCount(): number {
    return this.registry.reduce((s, p) => s + p.tensor.size, 0);
  }

  dispose(): void {
    for (const p of this.registry) {
      p.tensor.grad?.dispose();
      p.tensor.dispose();
    }
  }
}

// Parameters with stable names: the names are the keys in model.safetensors.
import type { Engine, Tensor } from "../tensor/engine.js";
import type { Rng } from "../tensor/random.js";

export interface NamedParameter {
  name: string;
  tensor: Tensor;
  /** weight decay applies to matrices, not to norm gains */
  decay: boolean;
}

/** Anything with parameters. Modules register theirs under a name prefix. */
export abstract class Module {
  protected readonly registry: NamedParameter[] = [];
  constructor(readonly engine: Engine) {}

  protected param(name: string, shape: number[], init: { rng: Rng; std: number } | { value: number }, decay = true): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = "rng" in init ? init.rng.normals(n, init.std) : new Float32Array(n).fill(init.value);
    const tensor = this.engine.parameter(data, shape);
    this.registry.push({ name, tensor, decay });
    return tensor;
  }

  protected child<M extends Module>(prefix: string, m: M): M {
    for (const p of m.parameters()) this.registry.push({ ...p, name: `${prefix}.${p.name}` });
    return m;
  }

  parameters(): NamedParameter[] {
    return this.registry;
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

// Central differences for engine tensors: the numeric side of a gradient check.
import type { Engine, Tensor } from "../../../src/tensor/engine.js";

/**
 * (L(t + eps·e_i) − L(t − eps·e_i)) / 2eps for every element i of t, where `loss`
 * evaluates L at t's current values. t is perturbed in place and restored.
 */
export async function numericGradOf(engine: Engine, t: Tensor, loss: () => Promise<number>, eps: number): Promise<Float64Array> {
  const values = Float64Array.from(await t.data());
  const numeric = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    values[i] = v + eps;
    engine.assign(t, values);
    const lp = await loss();
    values[i] = v - eps;
    engine.assign(t, values);
    const lm = await loss();
    values[i] = v;
    engine.assign(t, values);
    numeric[i] = (lp - lm) / (2 * eps);
  }
  return numeric;
}

// A tiny learnable batch for training tests: each sequence counts up from a random
// start, modulo `mod`, and the target is the next number.
import type { Engine, Tensor } from "../../../src/tensor/engine.js";
import type { Rng } from "../../../src/tensor/random.js";

export function countingBatch(engine: Engine, rng: Rng, B: number, T: number, mod: number): { ids: Tensor; targets: Tensor } {
  const starts = Array.from({ length: B }, () => rng.int(mod));
  const seq = (shift: number) => starts.flatMap((s) => Array.from({ length: T }, (_, t) => (s + t + shift) % mod));
  return { ids: engine.tensor(seq(0), [B, T], "i32"), targets: engine.tensor(seq(1), [B, T], "i32") };
}

// Seeded random numbers for tests: the same seed gives the same tensors on every run.

export { mulberry32 } from "../../../src/tensor/random.js";

/** n uniform values in [lo, hi) */
export function uniform(rng: () => number, n: number, lo = -1, hi = 1): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng();
  return out;
}

/** n standard normal values (Box–Muller) */
export function normal(rng: () => number, n: number, std = 1): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - rng();
    const v = rng();
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** n integers in [0, hi) */
export function ints(rng: () => number, n: number, hi: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng() * hi);
  return out;
}

/** round through float32, so f32 and f64 backends see the same inputs */
export function f32(xs: number[]): number[] {
  return Array.from(Float32Array.from(xs));
}

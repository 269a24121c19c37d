// Seeded randomness for everything in the kit that must be reproducible:
// problem generation, the textbook corpus, data shuffling, weight init.
//
// Math.random() cannot be seeded, so two runs would see different data. mulberry32
// is a tiny 32-bit generator (one integer state, a few multiplies per draw) that is
// good enough for sampling training data and identical on every JS engine, so
// "same seed → same numbers" holds in Node and in the browser alike.

import { mulberry32 as mulberryImpl } from "../tensor/random.js";

/** A source of uniform floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: seed → Rng (the engine's generator, so weights and data share one implementation). */
export const mulberry32: (seed: number) => Rng = mulberryImpl;

/** A uniform integer in [min, max], both inclusive. */
export function randomInt(rng: Rng, min: number, max: number): number {
  if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
    throw new Error(`randomInt: need integers min ≤ max, got ${min} and ${max}`);
  }
  return min + Math.floor(rng() * (max - min + 1));
}

/** One element of a non-empty array, chosen uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error("pick: the array is empty");
  return items[Math.floor(rng() * items.length)] as T;
}

/** Shuffles an array in place (Fisher–Yates) and returns it. */
export function shuffleInPlace<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/**
 * FNV-1a, 32-bit: a fast, well-spread hash of a string's UTF-16 code units.
 * Used to give a question a fixed split and to derive sub-seeds from labels
 * (so "seed 1, level 3, heldout" and "seed 1, level 4, train" get unrelated streams).
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A seed for a named sub-stream of `seed`, e.g. deriveSeed(1, "corpus/facts"). */
export function deriveSeed(seed: number, label: string): number {
  return fnv1a32(`${seed >>> 0}:${label}`);
}

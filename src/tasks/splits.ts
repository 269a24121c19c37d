// Train / validation / held-out splits that can never overlap.
//
// A question's split is a pure function of the question text: hash it (FNV-1a),
// take the hash mod 100, and read the bucket off a fixed table. So "37+48-19" is
// in the same split for every seed, every run and every machine, and a held-out
// question can only ever be generated as a held-out question. Seeds choose WHICH
// problems you draw, never where a problem belongs.

import { fnv1a32 } from "./rng.js";

export type Split = "train" | "val" | "heldout";
export const SPLITS: readonly Split[] = ["train", "val", "heldout"];

/** Buckets 0–79 train (80%), 80–89 val (10%), 90–99 heldout (10%). */
export const SPLIT_BUCKETS: Readonly<Record<Split, readonly [number, number]>> = {
  train: [0, 79],
  val: [80, 89],
  heldout: [90, 99],
};

/** The form that gets hashed: whitespace removed, so "37 + 48" and "37+48" agree. */
export function canonicalQuestion(question: string): string {
  return question.replace(/\s+/g, "");
}

/** The question's bucket, 0–99. */
export function splitBucket(question: string): number {
  return fnv1a32(canonicalQuestion(question)) % 100;
}

/** Which split a question belongs to (the same answer forever). */
export function splitOf(question: string): Split {
  const bucket = splitBucket(question);
  if (bucket <= SPLIT_BUCKETS.train[1]) return "train";
  if (bucket <= SPLIT_BUCKETS.val[1]) return "val";
  return "heldout";
}

/** Throws unless `value` names a split; for CLI flags and config files. */
export function parseSplit(value: string): Split {
  if ((SPLITS as readonly string[]).includes(value)) return value as Split;
  throw new Error(`unknown split "${value}" (expected one of: ${SPLITS.join(", ")})`);
}

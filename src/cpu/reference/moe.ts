// Sparse dispatch of a mixture-of-experts layer (src/nn/moe.ts): the routed rows
// sorted by expert. The grouped matrix products themselves run the kernel set's
// batchedGemm on each expert's block of rows (backend.ts).

/**
 * indices [N·k] (token n's j-th expert at n·k + j) → offsets [E + 1], tokens [N·k],
 * slot [N·k], order [N·k] (slot's inverse). A histogram of the experts, its prefix sum, then each row placed at
 * its expert's next free position, in order of n·k + j (so the sort is stable).
 */
export function moeSortKernel(
  indices: Int32Array, k: number, E: number, offsets: Int32Array, tokens: Int32Array, slot: Int32Array, order: Int32Array,
): void {
  const counts = new Int32Array(E);
  for (let r = 0; r < indices.length; r++) counts[indices[r]!]!++;
  offsets[0] = 0;
  for (let e = 0; e < E; e++) offsets[e + 1] = offsets[e]! + counts[e]!;
  const next = offsets.slice(0, E);
  for (let r = 0; r < indices.length; r++) {
    const at = next[indices[r]!]!++;
    tokens[at] = Math.floor(r / k);
    slot[r] = at;
    order[at] = r;
  }
}

/** offsets must start at 0, never decrease and end at R; throws a RangeError naming the first bad entry */
export function checkOffsets(op: string, offsets: Int32Array, R: number): void {
  if (offsets[0] !== 0) throw new RangeError(`${op}: offsets[0] must be 0, got ${offsets[0]}`);
  for (let e = 1; e < offsets.length; e++) {
    if (offsets[e]! < offsets[e - 1]!) throw new RangeError(`${op}: offsets decrease at ${e} (${offsets[e - 1]} then ${offsets[e]})`);
  }
  const last = offsets[offsets.length - 1];
  if (last !== R) throw new RangeError(`${op}: offsets must end at the number of rows ${R}, got ${last}`);
}

// Packing sampled completions into the flat per-token arrays grpoLoss reads.
//
// Each row of the batch is one sequence, prompt then completion, right-padded to the
// longest. The model reads ids and predicts targets (the same row shifted by one),
// so position t scores the token at t + 1; the mask is 1 exactly where that token
// belongs to the completion. Right padding is safe with causal attention: a real
// token never looks at the padding after it.

export interface PackedRollouts {
  /** rows (sequences) and positions per row; N = B·T */
  B: number;
  T: number;
  /** i32 [B, T] model inputs */
  ids: Int32Array;
  /** i32 [B·T] the token each position predicts */
  targets: Int32Array;
  /** f32 [B·T] 1 where the target is a completion token */
  mask: Float32Array;
  /** i32 [B·T] the row (sequence) of each position */
  seqIds: Int32Array;
  /** f32 [B·T] the sequence's advantage at each completion token (0 elsewhere) */
  advantages: Float32Array;
  /** completion tokens per sequence */
  lengths: number[];
}

/**
 * prompts[i] and completions[i] form sequence i; advantages[i] is its advantage
 * (groupAdvantages). Every prompt must be non-empty (it starts with BOS).
 */
export function packRollouts(
  prompts: readonly (readonly number[])[], completions: readonly (readonly number[])[], advantages: readonly number[],
): PackedRollouts {
  const B = prompts.length;
  if (completions.length !== B || advantages.length !== B) {
    throw new RangeError(`packRollouts: ${B} prompts, ${completions.length} completions and ${advantages.length} advantages: need one of each per sequence`);
  }
  if (B === 0) throw new RangeError("packRollouts: no sequences");
  if (prompts.some((p) => p.length === 0)) throw new RangeError("packRollouts: prompts must not be empty (start them with BOS)");
  const T = Math.max(...prompts.map((p, i) => p.length + completions[i]!.length)) - 1;
  if (T < 1) throw new RangeError("packRollouts: every sequence is a one-token prompt with no completion: nothing to score");
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  const seqIds = new Int32Array(B * T);
  const adv = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const seq = [...prompts[b]!, ...completions[b]!];
    const firstCompletion = prompts[b]!.length; // index in seq of the first completion token
    for (let t = 0; t < T; t++) {
      const n = b * T + t;
      seqIds[n] = b;
      if (t + 1 >= seq.length) continue; // padding: id 0, target 0, mask 0
      ids[n] = seq[t]!;
      targets[n] = seq[t + 1]!;
      if (t + 1 >= firstCompletion) {
        mask[n] = 1;
        adv[n] = advantages[b]!;
      }
    }
  }
  return { B, T, ids, targets, mask, seqIds, advantages: adv, lengths: completions.map((c) => c.length) };
}

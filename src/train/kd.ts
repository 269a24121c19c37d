// Token-level knowledge distillation (Hinton et al. 2015): the student learns the
// teacher's whole next-token distribution at every position, not only the token the
// teacher happened to write.
//
// At temperature T both distributions are softened:
//   p_t = softmax(z_teacher / T)     q_s = softmax(z_student / T)
// and the loss at a position is the forward KL, scaled by T²:
//   ℓ = T² · KL(p_t ‖ q_s) = T² · Σ_v p_t(v) · (log p_t(v) − log q_s(v))
// Its gradient with respect to the student's logits is
//   ∂ℓ/∂z_s = T² · (1/T) · (q_s − p_t) = T · (q_s − p_t):
// the 1/T comes from dividing the logits by T, and T² puts the gradient back on the
// scale of the cross-entropy's (q − onehot), so the mix below does not depend on T.
// The loss a run trains on mixes it with the plain cross-entropy on the sampled tokens:
//   L = (1 − α) · CE + α · T² · KL
// (α = 0 is sequence-level distillation alone: SFT on the teacher's samples.)
//
// Built from the engine's differentiable ops (softmax, logSoftmax, mul, sum): no kernel of its own.

import { ShapeError, fmtShape } from "../tensor/backend.js";
import type { Engine, Tensor } from "../tensor/engine.js";

/**
 * Σ over masked positions of T²·KL(softmax(teacher/T) ‖ softmax(student/T)), divided by
 * `count` (default: the number of rows). student and teacher logits [N, V]; mask f32 [N] or
 * null. Differentiable with respect to the student's logits only.
 */
export function kdLoss(engine: Engine, student: Tensor, teacher: Tensor, temperature: number, mask: Tensor | null = null, count?: number): Tensor {
  const e = engine;
  if (student.shape.length !== 2 || student.shape.join() !== teacher.shape.join()) {
    throw new ShapeError(`kdLoss: student and teacher logits must both be [N, V], got ${fmtShape(student.shape)} and ${fmtShape(teacher.shape)}`);
  }
  if (!(temperature > 0)) throw new RangeError(`kdLoss: temperature must be > 0, got ${temperature}`);
  const T = temperature;
  const N = student.shape[0]!;
  const soften = (z: Tensor) => (T === 1 ? z : e.scale(z, 1 / T));
  // the teacher is a constant: its softened distribution carries no gradient
  const { p, logP } = e.noGrad(() => {
    const logP = e.logSoftmax(soften(teacher));
    return { p: e.exp(logP), logP };
  });
  const logQ = e.logSoftmax(soften(student));
  let perRow = e.reshape(e.sum(e.mul(p, e.sub(logP, logQ)), 1), [N]); // KL per position
  if (mask) perRow = e.mul(perRow, mask);
  return e.scale(e.sumAll(perRow), (T * T) / Math.max(1, count ?? N));
}

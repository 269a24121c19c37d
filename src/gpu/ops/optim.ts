// The optimiser step on the GPU (kernels/adamw.wgsl): one fused dispatch per
// parameter tensor updates the parameter and both Adam moments in place. The
// gradient-clipping coefficient is read from a GPU buffer by the kernel itself,
// so clipping never needs the gradient norm on the CPU.

import { type AdamWHyper, ShapeError, checkDType, fmtShape } from "../../tensor/backend.js";
import type { GpuContext, GpuTensor } from "../context.js";
import { elementGrid, sameShape } from "./elementwise.js";

export function adamw(
  ctx: GpuContext, param: GpuTensor, grad: GpuTensor, m: GpuTensor, v: GpuTensor, hyper: AdamWHyper, coef: GpuTensor,
): void {
  const op = "adamw";
  checkDType(op, param, "f32", "param");
  checkDType(op, grad, "f32", "grad");
  checkDType(op, m, "f32", "m");
  checkDType(op, v, "f32", "v");
  checkDType(op, coef, "f32", "coef");
  const ref = `param has shape ${fmtShape(param.shape)}`;
  for (const [what, t] of [["grad", grad], ["m", m], ["v", v]] as const) {
    if (!sameShape(t.shape, param.shape)) throw new ShapeError(`${op}: ${what} has shape ${fmtShape(t.shape)} but ${ref}`);
  }
  if (coef.size !== 1) throw new ShapeError(`${op}: coef must hold one value, got shape ${fmtShape(coef.shape)}`);
  if (!(hyper.step >= 1)) throw new RangeError(`${op}: step is 1-based, got ${hyper.step}`);
  // The kernel writes param, m and v: they must be three different buffers.
  const written = [param.storage, m.storage, v.storage];
  if (new Set(written).size !== 3 || [grad.storage, coef.storage].some((s) => written.includes(s))) {
    throw new ShapeError(`${op}: param, grad, m, v and coef must be distinct tensors (not reshapes of each other)`);
  }
  const { lr, beta1, beta2, eps, weightDecay, step } = hyper;
  ctx.dispatch({
    kernel: "adamw",
    buffers: [param, grad, m, v, coef],
    uniforms: [
      param.size,
      { f32: lr }, { f32: beta1 }, { f32: beta2 }, { f32: eps }, { f32: weightDecay },
      // bias corrections in float64 on the host: β2^step for large steps is where f32 loses digits
      { f32: 1 - Math.pow(beta1, step) }, { f32: 1 - Math.pow(beta2, step) },
    ],
    workgroups: elementGrid(ctx, param.size),
    flops: 16 * param.size,
  });
}

// Shared set-up for GPU-vs-CPU parity tests: one CpuBackend and one WebGPU
// backend per test file, poisoning of the buffer pool, upload-to-both, compare,
// and a check that the GPU reported no validation errors (WebGPU reports those
// asynchronously and would otherwise only print a warning).

import assert from "node:assert/strict";
import { CpuBackend } from "../../../src/cpu/index.js";
import { WebGPUBackend } from "../../../src/gpu/backend.js";
import type { Backend, DType, RawTensor, Shape } from "../../../src/tensor/backend.js";
import { createBackend } from "../../../src/tensor/create.js";
import { type Tolerance, assertClose } from "./assert-close.js";

export interface Backends {
  cpu: CpuBackend;
  gpu: WebGPUBackend;
  /** GPU errors reported since the last checkGpuErrors() */
  gpuErrors: string[];
  /** destroys both backends (releases the device; Node hangs at exit otherwise) */
  close(): void;
}

export async function openBackends(): Promise<Backends> {
  const cpu = new CpuBackend();
  const be = await createBackend("webgpu");
  assert.ok(be instanceof WebGPUBackend, "createBackend('webgpu') should give a WebGPUBackend");
  const gpu = be;
  const gpuErrors: string[] = [];
  gpu.ctx.device.onuncapturederror = (e) => gpuErrors.push(e.error.message);
  return {
    cpu, gpu, gpuErrors,
    close() {
      cpu.destroy();
      gpu.destroy();
    },
  };
}

/** Run fn with a fresh pair of backends, destroying both afterwards even if fn throws. */
export async function withBackends(fn: (b: Backends) => Promise<void>): Promise<void> {
  const b = await openBackends();
  try {
    await fn(b);
    await checkGpuErrors(b);
  } finally {
    b.close();
  }
}

/** Fails if the device reported an error; waits for the queue first so reports have arrived. */
export async function checkGpuErrors(b: Backends): Promise<void> {
  b.gpu.flush();
  await b.gpu.ctx.device.queue.onSubmittedWorkDone();
  const errs = b.gpuErrors.splice(0);
  assert.deepEqual(errs, [], `the GPU reported errors:\n${errs.join("\n")}`);
}

/**
 * Fill pooled buffers of every size class up to `floats` elements with NaN and free
 * them again, so the next outputs come from buffers full of garbage: an element a
 * kernel forgets to write shows up as NaN.
 */
export function poisonPool(be: Backend, floats = 1 << 14, copies = 3): void {
  const held: RawTensor[] = [];
  for (let n = 64; ; n *= 2) {
    for (let c = 0; c < copies; c++) held.push(be.fill([n], NaN, "f32"));
    if (n >= floats) break;
  }
  for (const t of held) be.free(t);
}

/** poisonPool on the WebGPU side of a pair of backends */
export function poison(b: Backends, floats = 1 << 14, copies = 3): void {
  poisonPool(b.gpu, floats, copies);
}

/** the same data on both backends */
export interface Pair {
  cpu: RawTensor;
  gpu: RawTensor;
  data: number[];
}

export function upload(b: Backends, data: ArrayLike<number>, shape: Shape, dtype: DType = "f32"): Pair {
  const d = Array.from(data);
  return { cpu: b.cpu.upload(d, shape, dtype), gpu: b.gpu.upload(d, shape, dtype), data: d };
}

export function freePairs(b: Backends, ...pairs: Pair[]): void {
  for (const p of pairs) {
    b.cpu.free(p.cpu);
    b.gpu.free(p.gpu);
  }
}

/** reads both, checks shape, dtype and values (NaN matches NaN) */
export async function expectClose(
  b: Backends, gpuT: RawTensor, cpuT: RawTensor, tol: Tolerance, label: string,
): Promise<void> {
  assert.deepEqual([...gpuT.shape], [...cpuT.shape], `${label}: shape`);
  assert.equal(gpuT.dtype, cpuT.dtype, `${label}: dtype`);
  assertClose(await b.gpu.read(gpuT), await b.cpu.read(cpuT), tol, label);
}

/** dispatches that fn issues on the GPU backend */
export function countDispatches(b: Backends, fn: () => void): number {
  const before = b.gpu.stats().dispatches;
  fn();
  return b.gpu.stats().dispatches - before;
}

/**
 * Run fn as if the device allowed only `limit` workgroups per grid dimension, so
 * that ctx.grid folds even small launches into y. Kernels must then compute their
 * linear ids from both dimensions — tested here without the millions of
 * invocations a real 65535 limit takes (minutes on SwiftShader for row kernels).
 */
export async function withGridLimit<T>(b: Backends, limit: number, fn: () => Promise<T>): Promise<T> {
  const ctx = b.gpu.ctx as { maxWorkgroups: number };
  const real = ctx.maxWorkgroups;
  ctx.maxWorkgroups = limit;
  try {
    return await fn();
  } finally {
    ctx.maxWorkgroups = real;
  }
}

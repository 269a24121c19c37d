// One fp32 matrix product, three libraries, one protocol. Each runner uploads A and B
// once, then:
//   result()    the whole C on the host (the correctness check compares these);
//   sample(r)   launches r products back to back and waits for the device to finish
//               them, in the way the library offers: R1 Lab submits its encoder and
//               awaits queue.onSubmittedWorkDone(), TensorFlow.js ends its pass, submits
//               (as its own readback path does) and awaits the same, jax-js awaits
//               blockUntilReady() on the r results.
// Nothing is read back while timing, so the numbers are kernel time plus launch cost.

import * as tf from "@tensorflow/tfjs-core";
import { blockUntilReady, numpy as np, type Array as JaxArray } from "@jax-js/jax";
import type { CpuBackend } from "../../src/cpu/index.js";
import type { WebGPUBackend } from "../../src/gpu/backend.js";
import { getMatmulVariant, vec4Aligned } from "../../src/gpu/ops/matmul.js";
import type { RawTensor } from "../../src/tensor/backend.js";
import type { MatmulCase } from "./common.js";

export interface MatmulRunner {
  /** the JSON key stem: r1lab, tfjs, jax on WebGPU; wasm, reference, tfjs_wasm, tfjs_cpu on the CPU */
  readonly name: string;
  result(): Promise<Float32Array>;
  sample(products: number): Promise<void>;
  dispose(): void;
}

/** A stored as [m, k] (or [k, m] when transA), B as [k, n] (or [n, k] when transB) */
function shapes(c: MatmulCase): { a: [number, number]; b: [number, number] } {
  return { a: c.transA ? [c.k, c.m] : [c.m, c.k], b: c.transB ? [c.n, c.k] : [c.k, c.n] };
}

/** the kernel R1 Lab's matmul picks for this case on this device */
export function r1KernelName(be: WebGPUBackend, c: MatmulCase): string {
  const v = getMatmulVariant(be.ctx);
  return v === "blocked" && vec4Aligned(c.m, c.n, c.k, { transA: c.transA, transB: c.transB }) ? "blocked_vec4" : v;
}

export function r1Runner(be: WebGPUBackend, c: MatmulCase, a: Float32Array, b: Float32Array): MatmulRunner {
  const s = shapes(c);
  const A: RawTensor = be.upload(a, s.a, "f32");
  const B: RawTensor = be.upload(b, s.b, "f32");
  const opts = { transA: c.transA, transB: c.transB };
  return {
    name: "r1lab",
    async result() {
      const C = be.matmul(A, B, opts);
      const out = await be.read(C);
      be.free(C);
      return Float32Array.from(out);
    },
    async sample(products) {
      for (let i = 0; i < products; i++) be.free(be.matmul(A, B, opts));
      be.flush();
      await be.ctx.device.queue.onSubmittedWorkDone();
    },
    dispose() {
      be.free(A);
      be.free(B);
    },
  };
}

/** what the benchmark needs of tfjs-backend-webgpu's backend object */
interface TfWebGPUBackendLike {
  device: GPUDevice;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** submit whatever tfjs has recorded, the way its own readback path does */
function tfjsSubmit(be: TfWebGPUBackendLike): void {
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  be.submitQueue();
}

export function tfjsWebGPUBackend(): TfWebGPUBackendLike {
  const be = tf.backend() as unknown as Partial<TfWebGPUBackendLike>;
  if (!be.device || typeof be.submitQueue !== "function" || typeof be.endComputePassEncoder !== "function") throw new Error(`the current tfjs backend (${tf.getBackend()}) is not WebGPU`);
  return be as TfWebGPUBackendLike;
}

export function tfjsRunner(c: MatmulCase, a: Float32Array, b: Float32Array): MatmulRunner {
  const s = shapes(c);
  const A = tf.tensor2d(a, s.a);
  const B = tf.tensor2d(b, s.b);
  const be = tfjsWebGPUBackend();
  return {
    name: "tfjs",
    async result() {
      const C = tf.matMul(A, B, c.transA, c.transB);
      const out = await C.data();
      C.dispose();
      return Float32Array.from(out);
    },
    async sample(products) {
      for (let i = 0; i < products; i++) tf.matMul(A, B, c.transA, c.transB).dispose();
      tfjsSubmit(be);
      await be.device.queue.onSubmittedWorkDone();
    },
    dispose() {
      A.dispose();
      B.dispose();
    },
  };
}

export function jaxRunner(c: MatmulCase, a: Float32Array, b: Float32Array): MatmulRunner {
  const s = shapes(c);
  // jax-js arrays are reference-counted: every use passes `.ref`, dispose() drops ours
  const A = np.array(a, { shape: s.a, device: "webgpu" });
  const B = np.array(b, { shape: s.b, device: "webgpu" });
  const product = (): JaxArray => {
    const x = c.transA ? np.transpose(A.ref) : A.ref;
    const y = c.transB ? np.transpose(B.ref) : B.ref;
    return np.matmul(x, y);
  };
  return {
    name: "jax",
    async result() {
      const out = await product().data();
      return Float32Array.from(out as ArrayLike<number>);
    },
    async sample(products) {
      const cs: JaxArray[] = [];
      for (let i = 0; i < products; i++) cs.push(product());
      await blockUntilReady(cs);
      for (const x of cs) x.dispose();
    },
    dispose() {
      A.dispose();
      B.dispose();
    },
  };
}

// ---- CPU engines: everything runs synchronously on the page's thread ----------------

/** R1 Lab's CpuBackend (either engine): a product is done when matmul() returns. */
export function r1CpuRunner(name: string, be: CpuBackend, c: MatmulCase, a: Float32Array, b: Float32Array): MatmulRunner {
  const s = shapes(c);
  const A: RawTensor = be.upload(a, s.a, "f32");
  const B: RawTensor = be.upload(b, s.b, "f32");
  const opts = { transA: c.transA, transB: c.transB };
  return {
    name,
    async result() {
      const C = be.matmul(A, B, opts);
      const out = be.readSync(C);
      be.free(C);
      return Float32Array.from(out);
    },
    async sample(products) {
      for (let i = 0; i < products; i++) be.free(be.matmul(A, B, opts));
    },
    dispose() {
      be.free(A);
      be.free(B);
    },
  };
}

/**
 * tfjs on one of its CPU backends ("wasm", "cpu"). Only one tfjs backend is active at a
 * time and tfjs moves a tensor's data when another backend touches it, so the runner
 * switches to its own backend (`activate`) before it creates or uses its tensors.
 */
export async function tfjsCpuRunner(name: string, activate: () => Promise<void>, c: MatmulCase, a: Float32Array, b: Float32Array): Promise<MatmulRunner> {
  await activate();
  const s = shapes(c);
  const A = tf.tensor2d(a, s.a);
  const B = tf.tensor2d(b, s.b);
  return {
    name,
    async result() {
      await activate();
      const C = tf.matMul(A, B, c.transA, c.transB);
      const out = C.dataSync();
      C.dispose();
      return Float32Array.from(out);
    },
    async sample(products) {
      await activate();
      // CPU backends compute when the op is called; dataSync on the last one makes sure
      for (let i = 0; i < products - 1; i++) tf.matMul(A, B, c.transA, c.transB).dispose();
      const C = tf.matMul(A, B, c.transA, c.transB);
      C.dataSync();
      C.dispose();
    },
    dispose() {
      A.dispose();
      B.dispose();
    },
  };
}

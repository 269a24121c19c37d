// GpuContext behaviour that every op relies on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createBackend } from "../../src/tensor/create.js";
import { WebGPUBackend } from "../../src/gpu/backend.js";

test("a WebGPU validation error fails the next readback instead of returning garbage", async () => {
  const backend = await createBackend("webgpu");
  try {
    assert.ok(backend instanceof WebGPUBackend);
    const t = backend.upload([1, 2, 3], [3], "f32");
    backend.ctx.dispatch({ kernel: "fill", buffers: [], workgroups: [1] }); // missing bindings
    await assert.rejects(backend.read(t), /WebGPU error/);
    assert.deepEqual(Array.from(await backend.read(t)), [1, 2, 3], "reported once; later reads work");
  } finally {
    backend.destroy();
  }
});

test("uniform parameters: many dispatches before one submit, and cached bind groups with new values", async () => {
  // 600 dispatches in one encoder fill several 64 KiB uniform chunks (one
  // 256-byte slot each). Then the same chain again: every bind group is now cached,
  // but each dispatch's parameters differ, and the results must follow them.
  const backend = await createBackend("webgpu");
  try {
    assert.ok(backend instanceof WebGPUBackend);
    const chain = (step: number) => {
      let x = backend.upload([1, 2, 3], [3], "f32");
      for (let i = 0; i < 600; i++) {
        const y = backend.affine(x, 1, (i % 7) * step); // x + (i mod 7)·step
        backend.free(x);
        x = y;
      }
      return x;
    };
    const added = (step: number) => Array.from({ length: 600 }, (_, i) => (i % 7) * step).reduce((a, b) => a + b, 0);
    for (const step of [1, 0.5, -2]) {
      const x = chain(step);
      const before: number = backend.stats().submits;
      const got: number[] = Array.from(await backend.read(x));
      assert.equal(backend.stats().submits - before, 1, "one submit for the whole chain");
      assert.deepEqual(got, [1, 2, 3].map((v) => v + added(step)), `chain with step ${step}`);
      backend.free(x);
    }
  } finally {
    backend.destroy();
  }
});

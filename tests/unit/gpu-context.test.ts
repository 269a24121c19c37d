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

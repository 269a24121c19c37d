// Counts what one training step of a small transformer costs the device:
// dispatches, submits, readbacks, uploads and pool bytes. Run:
//   node --import tsx bench/step-counts.ts [cpu] [--preset ci|default] [--json]
import { createBackend } from "../src/tensor/create.js";
import { Engine } from "../src/tensor/engine.js";
import { GPT } from "../src/nn/gpt.js";
import { AdamW } from "../src/optim/adamw.js";
import { Rng } from "../src/tensor/random.js";
import { trainStep } from "../src/train/step.js";
import { PRETRAIN_PRESETS } from "../src/train/presets.js";

export async function stepCounts(kind: "webgpu" | "cpu" = "webgpu", preset: "ci" | "default" = "ci") {
  const backend = await createBackend(kind);
  try {
    const engine = new Engine(backend);
    const cfg = PRETRAIN_PRESETS[preset];
    const model = new GPT(engine, cfg.model, 1);
    const rng = new Rng(1);
    const B = cfg.batchSize, T = cfg.seqLen;
    const ids = engine.tensor(Array.from({ length: B * T }, () => rng.int(cfg.model.vocabSize)), [B, T], "i32");
    const targets = engine.tensor(Array.from({ length: B * T }, () => rng.int(cfg.model.vocabSize)), [B, T], "i32");
    const opt = new AdamW(engine, model.parameters().map((p) => p.tensor));
    await trainStep(engine, opt, () => model.loss(ids, targets), 1e-3, 0); // warm-up: pipelines compiled
    backend.resetStats();
    await trainStep(engine, opt, () => model.loss(ids, targets), 1e-3, 1);
    const s = backend.stats();
    // Where the time goes, per kernel, from GPU timestamp queries (when the adapter has them).
    let profile: { kernel: string; ms: number; count: number }[] = [];
    if ("ctx" in backend) {
      const ctx = (backend as unknown as { ctx: import("../src/gpu/context.js").GpuContext }).ctx;
      if (ctx.startProfiling()) {
        await trainStep(engine, opt, () => model.loss(ids, targets), 1e-3, 2);
        profile = await ctx.readProfile();
      }
    }
    // What encoding a step costs the CPU, once the loop has settled (the pool hands
    // out the same buffers each step, so every bind group comes from the cache):
    // the time trainStep takes to return, before the GPU work is awaited.
    const gpuCtx = "ctx" in backend ? (backend as unknown as { ctx: import("../src/gpu/context.js").GpuContext }).ctx : null;
    for (let i = 0; i < 40; i++) await trainStep(engine, opt, () => model.loss(ids, targets), 1e-3, 3 + i);
    const created0 = gpuCtx?.bindGroupsCreated ?? 0;
    const encodeMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const done = trainStep(engine, opt, () => model.loss(ids, targets), 1e-3, 43 + i);
      encodeMs.push(performance.now() - t0);
      await done;
    }
    encodeMs.sort((a, b) => a - b);
    const result = {
      backend: backend.description,
      model: `GPT ${cfg.model.nLayers} layers, d=${cfg.model.dModel}, ${cfg.model.nHeads} heads (${cfg.model.nKvHeads} KV), batch ${B}×${T}, ${model.parameterCount()} parameters`,
      dispatches: s.dispatches, submits: s.submits, readbacks: s.readbacks, uploads: s.uploads,
      pooled_bytes: s.pooledBytes, live_bytes: s.liveBytes, flops: s.flops,
      host_encode_ms: Number(((encodeMs[4]! + encodeMs[5]!) / 2).toFixed(2)),
      bind_groups_created_per_step: gpuCtx ? (gpuCtx.bindGroupsCreated - created0) / 10 : null,
      gpu_ms_by_kernel: profile.map((p) => `${p.kernel} ${p.ms.toFixed(2)} ms (${p.count}×)`).join("; "),
    };
    opt.dispose();
    model.dispose();
    return result;
  } finally {
    backend.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const kind = process.argv.includes("cpu") ? "cpu" : "webgpu";
  const at = process.argv.indexOf("--preset");
  const preset = at > 0 ? process.argv[at + 1] : "ci";
  if (preset !== "ci" && preset !== "default") throw new Error(`--preset must be ci or default, got ${preset}`);
  const r = await stepCounts(kind, preset);
  if (process.argv.includes("--json")) console.log(JSON.stringify(r, null, 2));
  else for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(14)} ${v}`);
}

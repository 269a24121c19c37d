// Where one R1 Lab training step spends its GPU time, kernel by kernel, from
// timestamp queries (Node + Dawn; needs an adapter with "timestamp-query", which
// SwiftShader has). The same step as `r1-lab bench` times: the preset's GPT and
// batch, AdamW with clipping, one submit.
//
//   node --import tsx bench/kernel-profile.ts [--preset ci|default] [--top 14]

import { WebGPUBackend } from "../src/gpu/backend.js";
import { createBackend } from "../src/tensor/create.js";
import { PRESET_NAMES, type PresetName } from "../src/train/presets.js";
import { trainSpec } from "./lib/common.js";
import { r1Trainer } from "./lib/r1-train.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const preset = arg("preset", "default");
const top = Number(arg("top", "14"));
if (!(PRESET_NAMES as readonly string[]).includes(preset) || !Number.isInteger(top) || top < 1) {
  console.error("usage: bench/kernel-profile.ts [--preset ci|default] [--top N]");
  process.exit(2);
}

const be = await createBackend("webgpu");
if (!(be instanceof WebGPUBackend)) throw new Error("no WebGPU adapter");
try {
  const trainer = r1Trainer(be, trainSpec(preset as PresetName));
  for (let i = 0; i < 2; i++) await trainer.step(); // pipelines compiled, pool filled
  if (!be.ctx.startProfiling()) {
    console.error("this adapter has no timestamp queries");
    process.exitCode = 1;
  } else {
    const t0 = performance.now();
    await trainer.step();
    const wall = performance.now() - t0;
    const profile = await be.ctx.readProfile();
    const total = profile.reduce((s, p) => s + p.ms, 0);
    console.log(`${be.description}; preset ${preset}; step wall ${wall.toFixed(0)} ms, GPU ${total.toFixed(0)} ms`);
    for (const p of profile.slice(0, top)) {
      console.log(`${p.kernel.padEnd(40)} ${p.ms.toFixed(1).padStart(9)} ms ${String(p.count).padStart(4)}×  ${((100 * p.ms) / total).toFixed(1).padStart(5)}%`);
    }
  }
  trainer.dispose();
} finally {
  be.destroy();
}

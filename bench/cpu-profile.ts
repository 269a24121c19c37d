// Where the CPU engine's time goes in one training step: every Backend call of
// the step is timed (wall clock, around the call) and summed per method, over a few
// steps of a preset's GPT. What is left over is the autograd engine's own
// JavaScript. src/cpu/README.md ("Threads") quotes a run of this.
//
//   node --import tsx bench/cpu-profile.ts [default|ci] [cpu|cpu-reference] [steps]
import { CpuBackend, createWasmEngineSync } from "../src/cpu/index.js";
import type { Backend } from "../src/tensor/backend.js";
import type { PresetName } from "../src/train/presets.js";
import { trainSpec } from "./lib/common.js";
import { r1Trainer } from "./lib/r1-train.js";

const preset = (process.argv[2] ?? "default") as PresetName;
const engine = process.argv[3] ?? "cpu";
const steps = Number(process.argv[4] ?? 10);
const backend = engine === "cpu-reference" ? new CpuBackend() : new CpuBackend({ wasm: createWasmEngineSync() });

/** the Backend methods that do arithmetic (not memory bookkeeping) */
const OPS: (keyof Backend)[] = [
  "matmul", "binary", "affine", "unary", "unaryBackward", "reduce", "sumTo", "softmax", "logSoftmax", "softmaxBackward",
  "logSoftmaxBackward", "crossEntropy", "crossEntropyBackward", "rmsnorm", "rmsnormBackward", "gatherRows",
  "scatterAddRows", "gatherLast", "scatterAddLast", "topk", "permute", "slice", "concat", "writeSlice", "rope",
  "attention", "attentionBackward", "sumSquares", "clipCoefficient", "adamw", "fill", "upload",
];
const ms = new Map<string, number>();
const target = backend as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of OPS) {
  const f = target[name]!.bind(backend);
  target[name] = (...args: unknown[]) => {
    const t0 = performance.now();
    try { return f(...args); } finally { ms.set(name, (ms.get(name) ?? 0) + performance.now() - t0); }
  };
}

const trainer = r1Trainer(backend, trainSpec(preset));
await trainer.step(); // warm-up: compile, grow the heap
ms.clear();
const t0 = performance.now();
for (let i = 0; i < steps; i++) await trainer.step();
const step = (performance.now() - t0) / steps;
console.log(`${preset} GPT, ${backend.description}: ${step.toFixed(1)} ms per step (mean of ${steps})`);
let inOps = 0;
for (const [name, t] of [...ms].sort((a, b) => b[1] - a[1])) {
  inOps += t / steps;
  if (t / steps >= 0.05) console.log(`  ${name.padEnd(22)} ${(t / steps).toFixed(2).padStart(8)} ms  ${((100 * t) / steps / step).toFixed(0).padStart(3)}%`);
}
console.log(`  ${"(autograd, JS)".padEnd(22)} ${(step - inOps).toFixed(2).padStart(8)} ms  ${((100 * (step - inOps)) / step).toFixed(0).padStart(3)}%`);
trainer.dispose();

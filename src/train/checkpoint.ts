// Model and optimiser state ↔ safetensors tensor maps. Names are the model's
// parameter names (e.g. "blocks.0.attn.wq.weight"), so the file opens in PyTorch
// with `safetensors.torch.load_file` and the keys read like a state_dict.
import type { HostTensor, TensorMap, TensorSpec } from "../io/safetensors.js";
import { checkAgainstSpec } from "../io/safetensors.js";
import type { Module } from "../nn/module.js";
import type { AdamW } from "../optim/adamw.js";
import type { Engine } from "../tensor/engine.js";

export function modelSpec(model: Module): Record<string, TensorSpec> {
  return Object.fromEntries(model.parameters().map((p) => [p.name, { dtype: "F32" as const, shape: [...p.tensor.shape] }]));
}

async function host(engine: Engine, raw: import("../tensor/backend.js").RawTensor): Promise<HostTensor> {
  const data = await engine.backend.read(raw);
  return { dtype: "F32", shape: [...raw.shape], data: data instanceof Float32Array ? data : Float32Array.from(data) };
}

/** the weights and the untrained state saved with them (Module.buffers: an MoE router's bias) */
export async function modelTensors(model: Module): Promise<TensorMap> {
  const out: TensorMap = {};
  for (const p of model.parameters()) out[p.name] = await host(model.engine, p.tensor.raw);
  for (const b of model.buffers()) out[b.name] = { dtype: "F32", shape: [...b.shape], data: b.read() };
  return out;
}

/** Load weights (and buffers), refusing missing, extra or mis-shaped tensors with a message naming them. */
export function loadModelTensors(model: Module, tensors: TensorMap): void {
  const buffers = model.buffers();
  checkAgainstSpec(tensors, { ...modelSpec(model), ...Object.fromEntries(buffers.map((b) => [b.name, { dtype: "F32" as const, shape: [...b.shape] }])) });
  for (const p of model.parameters()) model.engine.assign(p.tensor, tensors[p.name]!.data);
  for (const b of buffers) b.write(tensors[b.name]!.data);
}

export async function optimizerTensors(model: Module, opt: AdamW): Promise<TensorMap> {
  const { m, v } = opt.state();
  const out: TensorMap = {};
  const params = model.parameters();
  for (let i = 0; i < params.length; i++) {
    out[`m.${params[i]!.name}`] = await host(model.engine, m[i]!);
    out[`v.${params[i]!.name}`] = await host(model.engine, v[i]!);
  }
  return out;
}

export function loadOptimizerTensors(model: Module, opt: AdamW, tensors: TensorMap, stepCount: number): void {
  const spec: Record<string, TensorSpec> = {};
  for (const [name, s] of Object.entries(modelSpec(model))) {
    spec[`m.${name}`] = s;
    spec[`v.${name}`] = s;
  }
  checkAgainstSpec(tensors, spec);
  const b = model.engine.backend;
  const params = model.parameters();
  opt.loadState(
    params.map((p) => b.upload(tensors[`m.${p.name}`]!.data, p.tensor.shape, "f32")),
    params.map((p) => b.upload(tensors[`v.${p.name}`]!.data, p.tensor.shape, "f32")),
    stepCount,
  );
}

// Dense vs sparse MoE dispatch: FLOPs per token and the median time of a training
// step, on the lesson's MoE model (the ci preset with --mlp moe), merged into
// data/results/moe-dispatch.json under the backend's name (pages quote that file).
//   node --import tsx scripts/bench-moe.ts [--backend cpu|cpu-reference|webgpu] [--preset ci|default] [--steps N]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Engine } from "../src/tensor/engine.js";
import { BACKEND_KINDS, createBackendWithReport, type BackendKind } from "../src/tensor/create.js";
import { timeDispatch, type DispatchTiming } from "../src/train/dispatch-bench.js";
import { moeVariant, pretrainPreset } from "../src/train/presets.js";

const { values } = parseArgs({ options: { backend: { type: "string" }, preset: { type: "string" }, steps: { type: "string" } } });
const kind = (values.backend ?? "cpu") as BackendKind;
if (!(BACKEND_KINDS as readonly string[]).includes(kind)) throw new Error(`--backend must be one of ${BACKEND_KINDS.join(", ")}`);
const preset = values.preset ?? "ci";
const steps = Number(values.steps ?? 20);
const config = moeVariant(pretrainPreset(preset), "bias");
const { backend, adapter } = await createBackendWithReport(kind);
const engine = new Engine(backend);
const opts = { B: config.batchSize, T: config.seqLen, steps, warmup: 3 };
// alternate the two, twice, so a machine that slows down or warms up does not favour one
const runs: DispatchTiming[] = [];
for (const dispatch of ["dense", "sparse", "dense", "sparse"] as const) runs.push(await timeDispatch(engine, config.model, dispatch, opts));
backend.destroy();
const best = (d: string) => Math.min(...runs.filter((r) => r.dispatch === d).map((r) => r.ms_per_step));
const [dense, sparse] = [runs[0]!, runs[1]!];
// one run of data/results/moe-dispatch.json: {name, command, metrics, …} as every results file
const entry = {
  name: `${kind}-${preset}`,
  command: `node --import tsx scripts/bench-moe.ts --backend ${kind} --preset ${preset} --steps ${steps}`,
  backend: backend.name, adapter, preset, batch: opts.B, seq_len: opts.T, steps,
  mlp: config.model.mlp,
  metrics: {
    dense_ms_per_step: round(best("dense")), sparse_ms_per_step: round(best("sparse")),
    dense_flops_per_token: dense.flops_per_token, sparse_flops_per_token: sparse.flops_per_token,
    speedup: round(best("dense") / best("sparse")),
  },
  recorded: new Date().toISOString().slice(0, 10),
};
const file = "data/results/moe-dispatch.json";
const all = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { runs: { name: string }[]; claims: string[] }) : { runs: [], claims: [] };
all.runs = [...all.runs.filter((r) => r.name !== entry.name), entry];
writeFileSync(file, JSON.stringify(all, null, 2) + "\n");
console.log(JSON.stringify(entry, null, 2));

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

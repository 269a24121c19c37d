// The cost calculator on the landing page: DeepSeek-V3's reported training cost at an
// editable price per GPU-hour, beside what a run of this kit costs on the learner's
// machine — FLOPs counted by the engine (backend.stats().flops) and time measured
// here, then extrapolated to a full run (and labelled as such).
import { createBackendWithReport } from "../lib/tensor/create.js";
import { CpuBackend } from "../lib/cpu/index.js";
import { Engine } from "../lib/tensor/engine.js";
import { Rng } from "../lib/tensor/random.js";
import { GPT } from "../lib/nn/gpt.js";
import { PRETRAIN_PRESETS } from "../lib/train/presets.js";
import { countParams, matmulBench, type MatmulBenchRow } from "../lib/harness/checks.js";
import { fmtDuration } from "../lib/viz/style.js";
import { h } from "../lib/viz/dom.js";

// DeepSeek-V3 technical report, Table 1 (thousands of H800 GPU-hours) and §1.
export const V3 = {
  pretrainK: 2664,
  contextK: 119,
  postK: 5,
  totalK: 2788,
  tokens: 14.8e12,
  activeParams: 37e9,
  totalParams: 671e9,
  gpus: 2048,
} as const;

export interface KitMeasurement {
  backend: "webgpu" | "cpu";
  description: string;
  software: boolean;
  matmul: MatmulBenchRow;
  /** one forward + backward pass of the default pretrain model, measured */
  step: { batch: number; seqLen: number; flops: number; ms: number };
  /** the full default pretrain run, extrapolated from `step` */
  run: { steps: number; batch: number; seqLen: number; params: number; flops: number; seconds: number };
}

export async function measureKit(): Promise<KitMeasurement> {
  const created = await createBackendWithReport("auto");
  const backend = created.backend;
  try {
    const matmul = await matmulBench(backend, backend.name === "webgpu" ? 256 : 128, 400);
    const preset = PRETRAIN_PRESETS["default"];
    const cfg = preset.model;
    const B = 2;
    const T = preset.seqLen;
    const e = new Engine(backend);
    const model = new GPT(e, cfg, 1);
    const rng = new Rng(5);
    const ids = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
    const tg = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
    const step = async () => e.scope(async () => {
      const loss = model.loss(e.tensor(ids, [B, T], "i32"), e.tensor(tg, [B, T], "i32"));
      e.backward(loss);
      await loss.data();
    });
    await step(); // compile kernels, warm the buffer pool
    for (const p of model.parameters()) { p.tensor.grad?.dispose(); p.tensor.grad = null; }
    backend.resetStats();
    const t0 = performance.now();
    await step();
    const ms = performance.now() - t0;
    const flops = backend.stats().flops;
    for (const p of model.parameters()) { p.tensor.grad?.dispose(); p.tensor.dispose(); }
    const params = countParams(new CpuBackend(), cfg);
    const scale = (preset.batchSize / B) * preset.steps;
    return {
      backend: backend.name,
      description: backend.description,
      software: created.report?.software ?? false,
      matmul,
      step: { batch: B, seqLen: T, flops, ms },
      run: { steps: preset.steps, batch: preset.batchSize, seqLen: T, params, flops: flops * scale, seconds: (ms / 1000) * scale },
    };
  } finally {
    backend.destroy();
  }
}

const usd = (v: number) =>
  v >= 1e6 ? `$${(v / 1e6).toFixed(3)}M` : v >= 1e3 ? `$${(v / 1e3).toFixed(1)}K` : v >= 1 ? `$${v.toFixed(2)}` : `${(v * 100).toFixed(v < 0.01 ? 3 : 2)}¢`;
const sci = (v: number) => {
  const e = Math.floor(Math.log10(v));
  return `${(v / 10 ** e).toFixed(2)}×10${String(e).replace(/\d/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[+d]!).replace("-", "⁻")}`;
};
const big = (v: number) => v.toLocaleString("en-US");

function numberInput(name: string, value: number, min: number, step: string): HTMLInputElement {
  const i = h("input");
  i.type = "number";
  i.name = name;
  i.value = String(value);
  i.min = String(min);
  i.step = step;
  return i;
}

export function costCalculator(): HTMLElement {
  const panel = h("div", "r1-panel r1-cost");
  panel.append(h("h3", undefined, "What it costs: DeepSeek-V3 vs this kit"));
  const grid = h("div", "r1-calc");
  panel.append(grid);

  // ---- DeepSeek-V3 ----
  const left = h("div");
  const price = numberInput("price", 2, 0, "0.1");
  const priceLabel = h("label");
  priceLabel.append("rental price per H800 GPU-hour: $", price);
  const total = h("div", "big");
  const breakdown = h("table", "r1-table");
  const priceErr = h("div", "r1-fail r1-note");
  left.append(h("h4", undefined, "DeepSeek-V3 (reported)"), priceLabel, priceErr, total, breakdown);
  const v3Flops = 6 * V3.activeParams * V3.tokens;
  const facts = h("p", "r1-note");
  facts.textContent =
    `Pretraining on ${V3.tokens / 1e12}T tokens took ${big(V3.pretrainK * 1000)} of the ${big(V3.totalK * 1000)} H800 GPU-hours: ` +
    `${Math.round(V3.pretrainK / (V3.tokens / 1e12))}K GPU-hours per trillion tokens, ` +
    `${((V3.pretrainK * 1000 / (V3.tokens / 1e12) / V3.gpus) / 24).toFixed(1)} days per trillion on ${big(V3.gpus)} GPUs. ` +
    `Compute ≈ 6·N·D = 6 × 37B active parameters × 14.8T tokens ≈ ${sci(v3Flops)} FLOPs (the usual estimate, not a reported number). ` +
    `The reported cost excludes prior research and ablations.`;
  left.append(facts);

  function renderV3(): number | null {
    const p = Number(price.value);
    if (price.value.trim() === "" || !Number.isFinite(p) || p < 0) {
      priceErr.textContent = `the price must be a number ≥ 0 (got "${price.value}")`;
      return null;
    }
    priceErr.textContent = "";
    total.textContent = usd(V3.totalK * 1000 * p);
    total.dataset.usd = String(V3.totalK * 1000 * p);
    breakdown.replaceChildren(...([
      ["pre-training", V3.pretrainK], ["context extension", V3.contextK], ["post-training", V3.postK], ["total", V3.totalK],
    ] as const).map(([name, k]) => {
      const tr = h("tr");
      tr.append(h("td", undefined, name), h("td", "num", `${big(k)}K GPU-h`), h("td", "num", usd(k * 1000 * p)));
      return tr;
    }));
    return p;
  }

  // ---- this kit ----
  const right = h("div");
  right.append(h("h4", undefined, "A run of this kit, on your machine"));
  const status = h("p", "r1-note", "measuring…");
  const kitBig = h("div", "big", "…");
  const kitTable = h("table", "r1-table");
  const watts = numberInput("watts", 60, 1, "1");
  const kwh = numberInput("kwh", 0.3, 0, "0.01");
  const energy = h("label");
  energy.append("your device draws ", watts, " W at $", kwh, " per kWh");
  const again = h("button", "r1-button", "Measure again");
  again.type = "button";
  right.append(status, kitBig, kitTable, energy, h("br"), again);
  grid.append(left, right);
  const compare = h("p", "r1-note");
  panel.append(compare);

  let m: KitMeasurement | null = null;
  function renderKit(): void {
    if (!m) return;
    const w = Number(watts.value);
    const c = Number(kwh.value);
    const ok = Number.isFinite(w) && w > 0 && Number.isFinite(c) && c >= 0;
    const hours = m.run.seconds / 3600;
    const cost = ok ? hours * (w / 1000) * c : NaN;
    kitBig.textContent = ok ? `${fmtDuration(m.run.seconds)} · ${usd(cost)}` : "enter watts > 0 and a price ≥ 0";
    const stepRate = m.step.flops / (m.step.ms / 1000) / 1e9;
    const rows: [string, string][] = [
      ["engine", m.backend === "cpu"
        ? `${m.description} — ${m.software ? "this browser's WebGPU adapter is a software one, and the CPU engine is faster on it" : "no WebGPU here"}`
        : `${m.description}${m.software ? " (software adapter)" : ""}`],
      ["measured: matmul", `${m.matmul.n}×${m.matmul.n}, ${m.matmul.reps} runs: ${m.matmul.gflops.toFixed(2)} GFLOP/s`],
      ["measured: one training step", `${m.step.batch}×${m.step.seqLen} tokens, ${(m.step.flops / 1e6).toFixed(1)} MFLOP counted, ${m.step.ms.toFixed(0)} ms (${stepRate.toFixed(2)} GFLOP/s)`],
      ["extrapolated: default pretrain run", `${big(m.run.params)} parameters, ${big(m.run.steps)} steps × ${m.run.batch}×${m.run.seqLen} tokens = ${sci(m.run.flops)} FLOPs`],
      ["extrapolated: time and energy", ok ? `${fmtDuration(m.run.seconds)}, ${(hours * w / 1000).toFixed(4)} kWh, ${usd(cost)}` : "—"],
    ];
    kitTable.replaceChildren(...rows.map(([k, v]) => {
      const tr = h("tr");
      tr.append(h("td", undefined, k), h("td", undefined, v));
      return tr;
    }));
    const p = renderV3();
    const years = v3Flops / (stepRate * 1e9) / (3600 * 24 * 365);
    compare.textContent =
      `DeepSeek-V3's training used about ${sci(v3Flops / m.run.flops)} times the compute of this kit's default pretrain run` +
      (p !== null ? ` and cost ${usd(V3.totalK * 1000 * p)}` : "") +
      `; at the rate measured here, your machine would need about ${years >= 1e4 ? sci(years) : Math.round(years).toLocaleString("en-US")} years for it. ` +
      `The extrapolation scales one measured step linearly with batch and steps; on a GPU, bigger batches usually run faster per token, so read it as a rough upper bound.`;
    panel.dataset.measured = "true";
  }

  async function measure(): Promise<void> {
    again.disabled = true;
    status.textContent = "measuring: a matmul loop and one training step of the default pretrain model…";
    try {
      m = await measureKit();
      status.textContent = "Measured on this machine just now; the full run is extrapolated from it.";
      renderKit();
    } catch (e) {
      status.textContent = `The measurement failed: ${e instanceof Error ? e.message : String(e)}`;
      panel.dataset.measured = "error";
    } finally {
      again.disabled = false;
    }
  }

  price.addEventListener("input", () => { renderV3(); renderKit(); });
  watts.addEventListener("input", renderKit);
  kwh.addEventListener("input", renderKit);
  again.addEventListener("click", () => void measure());
  renderV3();
  void measure();
  return panel;
}

// The Engine lesson's training run: a small MLP learns to separate two interleaved
// spirals. Nothing here is specific to the browser: it is a job (see ../jobs.ts),
// an async generator of metrics records, running on whichever Backend it is given.
//
// Each step is one full-batch forward pass, backward pass and AdamW update, all
// through src/tensor/engine.ts and src/optim/adamw.ts: the same autograd and
// optimiser the transformer lessons use.
import type { Backend } from "../../tensor/backend.js";
import { Engine, type Tensor } from "../../tensor/engine.js";
import { Rng } from "../../tensor/random.js";
import { AdamW } from "../../optim/adamw.js";
import type { JobConfig, JobContext, JobDef, MetricRecord } from "../jobs.js";

export interface SpiralsConfig extends JobConfig {
  /** points per class */
  points: number;
  /** spiral noise (std of the jitter) */
  noise: number;
  /** how many turns each arm makes, 1.5 = one and a half (more turns: a harder boundary to draw) */
  turns: number;
  hidden: number;
  layers: number;
  activation: "tanh" | "relu" | "gelu" | "silu";
  lr: number;
  weightDecay: number;
  /** measure accuracy every this many steps (needs a readback of the logits) */
  evalEvery: number;
}

const base = { noise: 0.15, turns: 1.5, layers: 2, activation: "tanh", weightDecay: 0, evalEvery: 10 } as const;

export const SPIRALS_PRESETS: Record<string, SpiralsConfig> = {
  default: { ...base, seed: 1, steps: 400, points: 128, hidden: 32, lr: 0.02 },
  ci: { ...base, seed: 1, steps: 30, points: 48, hidden: 16, lr: 0.03, evalEvery: 5 },
  "lr too high": { ...base, seed: 1, steps: 300, points: 128, hidden: 32, lr: 0.8 },
  "too narrow": { ...base, seed: 1, steps: 400, points: 128, hidden: 3, lr: 0.02 },
  "one layer": { ...base, seed: 1, steps: 400, points: 128, hidden: 32, layers: 1, lr: 0.02 },
  relu: { ...base, seed: 1, steps: 400, points: 128, hidden: 32, lr: 0.02, activation: "relu" },
};

/** Two spirals in [-1, 1]², class 0 and class 1, interleaved. */
export function spirals(pointsPerClass: number, noise: number, turns: number, rng: Rng): { x: Float32Array; y: Int32Array } {
  const span = turns * 2 * Math.PI; // the angle each arm sweeps
  const n = 2 * pointsPerClass;
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < pointsPerClass; i++) {
      const t = (i / pointsPerClass) * span + 0.3; // radius grows with the angle
      const r = t / (span + 0.3);
      const a = t + c * Math.PI;
      const k = c * pointsPerClass + i;
      x[2 * k] = r * Math.cos(a) + noise * 0.3 * rng.normal();
      x[2 * k + 1] = r * Math.sin(a) + noise * 0.3 * rng.normal();
      y[k] = c;
    }
  }
  return { x, y };
}

/** What the job draws for the page: p(class 1) on a grid over the plane, and the training points. */
export interface BoundaryView {
  step: number;
  rows: number;
  cols: number;
  /** row-major, top row first (y = +EXTENT) */
  data: Float32Array;
  marks: { x: number; y: number; color: string }[];
}

/** The job's network: weights drawn from the seeded generator, and its forward pass. */
function mlp(engine: Engine, rng: Rng, config: SpiralsConfig): { params: Tensor[]; forward(input: Tensor): Tensor } {
  // He/Xavier-style init from the seeded generator: same weights on every backend
  const widths = [2, ...Array<number>(config.layers).fill(config.hidden), 2];
  const params: Tensor[] = [];
  const layers: { w: Tensor; b: Tensor }[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    const fanIn = widths[l]!;
    const fanOut = widths[l + 1]!;
    const w = engine.parameter(rng.normals(fanIn * fanOut, Math.sqrt(2 / (fanIn + fanOut)) * 1.5), [fanIn, fanOut]);
    const b = engine.parameter(new Float32Array(fanOut), [1, fanOut]);
    layers.push({ w, b });
    params.push(w, b);
  }
  const forward = (input: Tensor): Tensor => {
    let h: Tensor = input;
    layers.forEach(({ w, b }, l) => {
      h = engine.add(engine.matmul(h, w), b);
      if (l + 1 < layers.length) h = engine.unary(config.activation, h);
    });
    return h;
  };
  return { params, forward };
}

/**
 * The autograd tape of one step of this job, as the engine records it: the forward
 * pass and the loss, op by op, with shapes (the Engine lesson draws it).
 */
export async function spiralsTape(config: SpiralsConfig, backend: Backend): Promise<ReturnType<Engine["tapeSummary"]>> {
  const engine = new Engine(backend);
  const rng = new Rng(config.seed);
  const data = spirals(config.points, config.noise, config.turns, rng);
  const net = mlp(engine, rng, config);
  try {
    return await engine.scope(async () => {
      const X = engine.tensor(data.x, [2 * config.points, 2]);
      const Y = engine.tensor(data.y, [2 * config.points], "i32");
      engine.meanCrossEntropy(net.forward(X), Y);
      return engine.tapeSummary();
    });
  } finally {
    for (const p of net.params) p.dispose();
  }
}

const GRID = 36;
const EXTENT = 1.25;

async function* runSpirals(
  config: SpiralsConfig, backend: Backend, context?: JobContext,
): AsyncGenerator<MetricRecord, void, undefined> {
  const engine = new Engine(backend);
  const rng = new Rng(config.seed);
  const data = spirals(config.points, config.noise, config.turns, rng);
  const N = 2 * config.points;
  const X = engine.keep(engine.tensor(data.x, [N, 2]));
  const Y = engine.keep(engine.tensor(data.y, [N], "i32"));

  const net = mlp(engine, rng, config);
  const { params } = net;
  // the grid the decision boundary is drawn on (only when a page is listening)
  let grid: Tensor | null = null;
  const marks: BoundaryView["marks"] = [];
  if (context) {
    const g = new Float32Array(GRID * GRID * 2);
    for (let i = 0; i < GRID; i++) {
      for (let j = 0; j < GRID; j++) {
        g[2 * (i * GRID + j)] = -EXTENT + ((j + 0.5) * 2 * EXTENT) / GRID;
        g[2 * (i * GRID + j) + 1] = EXTENT - ((i + 0.5) * 2 * EXTENT) / GRID;
      }
    }
    grid = engine.keep(engine.tensor(g, [GRID * GRID, 2]));
    for (let k = 0; k < N; k++) {
      marks.push({
        x: ((data.x[2 * k]! + EXTENT) / (2 * EXTENT)) * GRID,
        y: ((EXTENT - data.x[2 * k + 1]!) / (2 * EXTENT)) * GRID,
        color: data.y[k] ? "#d1453b" : "#2f6cc0",
      });
    }
  }
  const noDecay = new Set(params.flatMap((_, i) => (i % 2 === 1 ? [i] : [])));
  const opt = new AdamW(engine, params, { lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: 5, beta2: 0.99 }, noDecay);
  const forward = (input: Tensor = X): Tensor => net.forward(input);

  try {
    let accuracy = NaN;
    for (let step = 1; step <= config.steps; step++) {
      const t0 = performance.now();
      const { loss, gradNorm, acc } = await engine.scope(async () => {
        const logits = forward();
        const lossT = engine.meanCrossEntropy(logits, Y);
        engine.backward(lossT);
        const { gradNormSq } = opt.step(config.lr);
        const evalNow = step === 1 || step % config.evalEvery === 0 || step === config.steps;
        const [lv, gv, lg] = await Promise.all([
          lossT.data(),
          backend.read(gradNormSq),
          evalNow ? logits.data() : Promise.resolve(null),
        ]);
        backend.free(gradNormSq);
        let a = NaN;
        if (lg) {
          let right = 0;
          for (let i = 0; i < N; i++) if ((lg[2 * i + 1]! > lg[2 * i]! ? 1 : 0) === data.y[i]) right++;
          a = right / N;
        }
        return { loss: lv[0]!, gradNorm: Math.sqrt(gv[0]!), acc: a };
      });
      if (Number.isFinite(acc)) accuracy = acc;
      if (context && grid && Number.isFinite(acc)) {
        const g = grid;
        const z = await engine.noGrad(() => engine.scope(async () => forward(g).data()));
        const p = new Float32Array(GRID * GRID);
        for (let k = 0; k < p.length; k++) p[k] = 1 / (1 + Math.exp(z[2 * k]! - z[2 * k + 1]!));
        const view: BoundaryView = { step, rows: GRID, cols: GRID, data: p, marks };
        context.emit("boundary", view);
      }
      const rec: MetricRecord = {
        step,
        loss,
        grad_norm: gradNorm,
        lr: config.lr,
        ms_per_step: performance.now() - t0,
      };
      if (Number.isFinite(acc)) rec["accuracy"] = accuracy;
      yield rec;
    }
  } finally {
    for (const p of params) { p.grad?.dispose(); p.dispose(); }
    X.dispose();
    Y.dispose();
    grid?.dispose();
    for (const t of [...opt.state().m, ...opt.state().v]) backend.free(t);
  }
}

export const spiralsJob: JobDef<SpiralsConfig> = {
  name: "engine-spirals",
  title: "Two spirals (MLP)",
  description: "A small MLP learns to separate two interleaved spirals: forward, backward and AdamW on the engine.",
  params: [
    { key: "hidden", label: "hidden width", kind: "int", min: 1, max: 512, help: "units per hidden layer" },
    { key: "layers", label: "hidden layers", kind: "int", min: 1, max: 4 },
    { key: "activation", label: "activation", kind: "choice", choices: ["tanh", "relu", "gelu", "silu"] },
    { key: "lr", label: "learning rate", kind: "float", min: 1e-5, max: 2, help: "AdamW step size" },
    { key: "weightDecay", label: "weight decay", kind: "float", min: 0, max: 1 },
    { key: "points", label: "points per class", kind: "int", min: 4, max: 4096 },
    { key: "noise", label: "noise", kind: "float", min: 0, max: 2 },
    { key: "turns", label: "spiral turns", kind: "float", min: 0.25, max: 4, help: "turns each arm makes (1.5 = one and a half)" },
    { key: "evalEvery", label: "accuracy every", kind: "int", min: 1, max: 10000, help: "steps between accuracy readbacks" },
  ],
  presets: SPIRALS_PRESETS,
  charts: [
    { title: "training loss (cross-entropy)", keys: ["loss"], smoothing: 0.6 },
    { title: "accuracy on the training points", keys: ["accuracy"] },
    { title: "gradient norm (before clipping at 5)", keys: ["grad_norm"], logY: true, smoothing: 0.6 },
  ],
  validate(c) {
    if (c.steps > 100_000) return "keep steps ≤ 100000 in the browser";
    return null;
  },
  run: runSpirals,
};

// The Engine lesson's diagram: the autograd tape of the two-spirals MLP, as the engine
// records it (Engine.tapeSummary after one forward pass and loss; see spiralsTape in
// src/harness/jobs/engine-spirals.ts). The tape is a list, so it is drawn as one: the
// forward pass appends entries top to bottom; backward() walks them bottom to top,
// each entry turning its output's gradient into its inputs' gradients.
import { h } from "../lib/viz/dom.js";

export interface TapeEntrySummary {
  op: string;
  inputs: readonly (readonly number[])[];
  output: readonly number[];
}

/** the backward rule of each op the spirals model records, in words a learner can check */
const RULES: Record<string, string> = {
  matmul: "∂A = ∂C · Bᵀ,  ∂B = Aᵀ · ∂C",
  add: "∂a = ∂c,  ∂b = ∂c summed over the rows it was broadcast to",
  tanh: "∂x = (1 − y²) · ∂y",
  relu: "∂x = ∂y where x > 0, else 0",
  gelu: "∂x = gelu′(x) · ∂y",
  silu: "∂x = silu′(x) · ∂y",
  crossEntropy: "∂z = softmax(z) − onehot(target), per row",
  reshape: "∂x = ∂y, reshaped back",
  sum: "∂x = ∂y copied to every element",
  affine: "∂x = α · ∂y  (here α = 1/N: the mean)",
};

const shape = (s: readonly number[]) => `[${s.join(",")}]`;

export function tapeDiagram(entries: readonly TapeEntrySummary[]): HTMLElement {
  const root = h("div", "r1-tape");
  root.dataset.ops = String(entries.length);
  root.setAttribute("role", "img");
  root.setAttribute("aria-label", `The autograd tape: ${entries.map((e) => e.op).join(", ")}`);
  const head = h("div", "r1-tape-row r1-tape-head");
  head.append(h("span", undefined, "#"), h("span", undefined, "forward: op, shapes in → out"), h("span", undefined, "backward rule"));
  root.append(head);
  entries.forEach((e, i) => {
    const row = h("div", "r1-tape-row");
    row.dataset.op = e.op;
    const what = h("span");
    what.append(h("strong", undefined, e.op), ` ${e.inputs.map(shape).join(" ")} → ${shape(e.output)}`);
    row.append(h("span", "r1-tape-n", String(i + 1)), what, h("span", "r1-tape-rule", RULES[e.op] ?? "see src/tensor/engine.ts"));
    root.append(row);
  });
  const foot = h("div", "r1-tape-row r1-tape-head");
  foot.append(h("span", undefined, ""), h("span", undefined, "↓ forward appends each entry as its op runs"),
    h("span", "r1-tape-rule", "↑ backward(): starts from ∂L/∂L = 1 at the last entry and walks up; parameters collect .grad"));
  root.append(foot);
  return root;
}

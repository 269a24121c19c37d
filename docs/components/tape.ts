// The Engine lesson's diagram: the autograd tape of the two-spirals MLP. Forward ops
// run left to right and are recorded; backward() walks the tape right to left, each
// entry turning its output's gradient into its inputs' gradients.
import * as d3 from "d3";

interface Op { label: string; sub: string; rule: string }

/**
 * The ops the spirals job's forward pass records, in order, for `layers` hidden layers
 * (src/harness/jobs/engine-spirals.ts: matmul, add, activation per hidden layer, then the
 * output layer and the fused cross-entropy).
 */
export function spiralsTapeOps(layers: number, activation: string): Op[] {
  const derivative: Record<string, string> = {
    tanh: "∂x = (1 − y²)·∂y", relu: "∂x = [x > 0]·∂y", gelu: "∂x = gelu′(x)·∂y", silu: "∂x = silu′(x)·∂y",
  };
  const ops: Op[] = [{ label: "X", sub: "points [N,2]", rule: "" }];
  for (let l = 1; l <= layers + 1; l++) {
    const inName = l === 1 ? "X" : `H${l - 1}`;
    const outName = l === layers + 1 ? "Z" : `H${l}`;
    ops.push({ label: "matmul", sub: `${inName}·W${l}`, rule: `∂W${l} = ${inName}ᵀ·∂${outName}` });
    ops.push({ label: "add", sub: `+ b${l}`, rule: `∂b${l} = Σₙ ∂${outName}` });
    if (l <= layers) ops.push({ label: activation, sub: `→ H${l}`, rule: derivative[activation] ?? "∂x = f′(x)·∂y" });
  }
  ops.push({ label: "cross-entropy", sub: "mean over N", rule: "∂Z = (p − onehot(t)) / N" });
  ops.push({ label: "L", sub: "loss", rule: "∂L/∂L = 1" });
  return ops;
}

/** The tape, drawn at a fixed size: on a narrow screen its box scrolls sideways rather than shrink the labels. */
export function tapeDiagram(layers = 2, activation = "tanh"): HTMLElement {
  const OPS = spiralsTapeOps(layers, activation);
  const n = OPS.length;
  const bw = 112, bh = 48, gap = 26;
  const W = n * bw + (n - 1) * gap + 4, H = 200;
  const y = 36;
  const svg = d3.create("svg").attr("viewBox", `0 0 ${W} ${H}`).attr("width", W).attr("height", H)
    .style("font-family", "var(--sans-serif)").attr("role", "img")
    .attr("aria-label", `Autograd tape of the spirals MLP with ${layers} hidden layer(s): forward ops left to right, backward rules right to left`);
  const defs = svg.append("defs");
  for (const [id, color] of [["fw", "var(--theme-foreground-muted)"], ["bw", "var(--r1-bad)"]] as const) {
    defs.append("marker").attr("id", `r1-tape-${id}`).attr("viewBox", "0 0 10 10").attr("refX", 9).attr("refY", 5)
      .attr("markerWidth", 7).attr("markerHeight", 7).attr("orient", "auto-start-reverse")
      .append("path").attr("d", "M0,0L10,5L0,10z").attr("fill", color);
  }
  const x = (i: number) => 2 + i * (bw + gap);
  svg.append("text").attr("x", 2).attr("y", 16).attr("font-size", 12).attr("fill", "var(--theme-foreground-muted)")
    .text("forward: each op runs a kernel and appends (inputs, output, backward rule) to the tape →");
  svg.append("text").attr("x", W - 2).attr("y", H - 6).attr("text-anchor", "end").attr("font-size", 12).attr("fill", "var(--r1-bad)")
    .text("← backward(): walk the tape in reverse; parameters accumulate .grad");
  const box = document.createElement("div");
  box.className = "r1-scroll-x";
  box.dataset.ops = String(n);
  OPS.forEach((op, i) => {
    const g = svg.append("g");
    const leaf = i === 0 || i === n - 1;
    g.append("rect").attr("x", x(i)).attr("y", y).attr("width", bw).attr("height", bh).attr("rx", leaf ? 23 : 6)
      .attr("fill", "var(--theme-background-alt)").attr("stroke", "var(--theme-foreground-faint)");
    g.append("text").attr("x", x(i) + bw / 2).attr("y", y + 20).attr("text-anchor", "middle").attr("font-size", 13)
      .attr("font-weight", 700).attr("fill", "var(--theme-foreground)").text(op.label);
    g.append("text").attr("x", x(i) + bw / 2).attr("y", y + 36).attr("text-anchor", "middle").attr("font-size", 12)
      .attr("fill", "var(--theme-foreground-muted)").text(op.sub);
    if (i + 1 < n) {
      svg.append("line").attr("x1", x(i) + bw + 1).attr("x2", x(i + 1) - 2).attr("y1", y + bh / 2 - 6).attr("y2", y + bh / 2 - 6)
        .attr("stroke", "var(--theme-foreground-muted)").attr("stroke-width", 1.4).attr("marker-end", "url(#r1-tape-fw)");
      svg.append("line").attr("x1", x(i + 1) - 2).attr("x2", x(i) + bw + 1).attr("y1", y + bh / 2 + 8).attr("y2", y + bh / 2 + 8)
        .attr("stroke", "var(--r1-bad)").attr("stroke-width", 1.4).attr("marker-end", "url(#r1-tape-bw)");
    }
    if (op.rule) {
      const words = [op.rule];
      const t = g.append("text").attr("x", x(i) + bw / 2).attr("y", y + bh + 22).attr("text-anchor", "middle")
        .attr("font-size", 12).attr("fill", "var(--r1-bad)");
      words.forEach((w, k) => t.append("tspan").attr("x", x(i) + bw / 2).attr("dy", k ? 14 : 0).text(w));
    }
  });
  box.append(svg.node()!);
  return box;
}

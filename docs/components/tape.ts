// The Engine lesson's diagram: the autograd tape of the two-spirals MLP. Forward ops
// run left to right and are recorded; backward() walks the tape right to left, each
// entry turning its output's gradient into its inputs' gradients.
import * as d3 from "d3";

const OPS = [
  { label: "X", sub: "points [N,2]", rule: "" },
  { label: "matmul", sub: "· W₁", rule: "∂W₁ = Xᵀ·∂H" },
  { label: "add", sub: "+ b₁", rule: "∂b₁ = Σₙ ∂H" },
  { label: "tanh", sub: "", rule: "∂x = (1 − y²)·∂y" },
  { label: "matmul", sub: "· W₂", rule: "∂W₂ = Hᵀ·∂Z, ∂H = ∂Z·W₂ᵀ" },
  { label: "add", sub: "+ b₂", rule: "∂b₂ = Σₙ ∂Z" },
  { label: "cross-entropy", sub: "mean over N", rule: "∂z = (p − onehot(t)) / N, p = softmax(z)" },
  { label: "L", sub: "loss", rule: "∂L/∂L = 1" },
] as const;

export function tapeDiagram(): SVGSVGElement {
  const W = 1000, H = 190;
  const n = OPS.length;
  const bw = 104, bh = 46, gap = (W - 4 - n * bw) / (n - 1);
  const y = 36;
  const svg = d3.create("svg").attr("viewBox", `0 0 ${W} ${H}`).attr("width", "100%").style("max-width", `${W}px`)
    .style("font-family", "var(--sans-serif)").attr("role", "img")
    .attr("aria-label", "Autograd tape: forward ops left to right, backward rules right to left");
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
  OPS.forEach((op, i) => {
    const g = svg.append("g");
    const leaf = i === 0 || i === n - 1;
    g.append("rect").attr("x", x(i)).attr("y", y).attr("width", bw).attr("height", bh).attr("rx", leaf ? 23 : 6)
      .attr("fill", "var(--theme-background-alt)").attr("stroke", "var(--theme-foreground-faint)");
    g.append("text").attr("x", x(i) + bw / 2).attr("y", y + 20).attr("text-anchor", "middle").attr("font-size", 13)
      .attr("font-weight", 700).attr("fill", "var(--theme-foreground)").text(op.label);
    g.append("text").attr("x", x(i) + bw / 2).attr("y", y + 36).attr("text-anchor", "middle").attr("font-size", 11)
      .attr("fill", "var(--theme-foreground-muted)").text(op.sub);
    if (i + 1 < n) {
      svg.append("line").attr("x1", x(i) + bw + 1).attr("x2", x(i + 1) - 2).attr("y1", y + bh / 2 - 6).attr("y2", y + bh / 2 - 6)
        .attr("stroke", "var(--theme-foreground-muted)").attr("stroke-width", 1.4).attr("marker-end", "url(#r1-tape-fw)");
      svg.append("line").attr("x1", x(i + 1) - 2).attr("x2", x(i) + bw + 1).attr("y1", y + bh / 2 + 8).attr("y2", y + bh / 2 + 8)
        .attr("stroke", "var(--r1-bad)").attr("stroke-width", 1.4).attr("marker-end", "url(#r1-tape-bw)");
    }
    if (op.rule) {
      const words = op.rule.split(", ");
      const t = g.append("text").attr("x", x(i) + bw / 2).attr("y", y + bh + 22).attr("text-anchor", "middle")
        .attr("font-size", 11).attr("fill", "var(--r1-bad)");
      words.forEach((w, k) => t.append("tspan").attr("x", x(i) + bw / 2).attr("dy", k ? 14 : 0).text(w));
    }
  });
  return svg.node()!;
}

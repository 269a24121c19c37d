// The Pretrain lesson's diagram: the decoder of src/nn/gpt.ts, top to bottom. The
// residual stream runs down the left; each block branches off it twice (RMSNorm →
// attention, RMSNorm → SwiGLU) and adds the branch back. Sizes come from the config
// the learner set, so the labels follow the inputs.
import * as d3 from "d3";

export interface DiagramConfig {
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dFF: number;
  tiedHead: boolean;
  seqLen: number;
  vocabSize: number;
}

function attentionKind(h: number, kv: number): string {
  if (kv === h) return "MHA";
  if (kv === 1) return "MQA";
  return "GQA";
}

export function decoderDiagram(c: DiagramConfig): SVGSVGElement {
  const W = 680, H = 560;
  const xs = 130; // the residual stream
  const svg = d3.create("svg").attr("viewBox", `0 0 ${W} ${H}`).attr("width", "100%").style("max-width", `${W}px`)
    .style("font-family", "var(--sans-serif)").attr("role", "img").attr("class", "r1-pt-diagram")
    .attr("aria-label", "The decoder: embedding, N pre-norm blocks of attention and SwiGLU on a residual stream, final RMSNorm, output head");
  svg.append("defs").append("marker").attr("id", "r1-pt-arrow").attr("viewBox", "0 0 10 10").attr("refX", 9).attr("refY", 5)
    .attr("markerWidth", 7).attr("markerHeight", 7).attr("orient", "auto-start-reverse")
    .append("path").attr("d", "M0,0L10,5L0,10z").attr("fill", "var(--theme-foreground-muted)");

  const line = (d: string, arrow = true, width = 1.5) =>
    svg.append("path").attr("d", d).attr("fill", "none").attr("stroke", "var(--theme-foreground-muted)")
      .attr("stroke-width", width).attr("marker-end", arrow ? "url(#r1-pt-arrow)" : null);
  const text = (x: number, y: number, s: string, o: { size?: number; bold?: boolean; anchor?: string; muted?: boolean; color?: string } = {}) =>
    svg.append("text").attr("x", x).attr("y", y).attr("text-anchor", o.anchor ?? "middle").attr("font-size", o.size ?? 13)
      .attr("font-weight", o.bold ? 700 : 400)
      .attr("fill", o.color ?? (o.muted ? "var(--theme-foreground-muted)" : "var(--theme-foreground)")).text(s);
  /** a box centred at (cx, cy) */
  const box = (cx: number, cy: number, w: number, h: number, label: string, sub: string, accent = false) => {
    svg.append("rect").attr("x", cx - w / 2).attr("y", cy - h / 2).attr("width", w).attr("height", h).attr("rx", 7)
      .attr("fill", accent ? "color-mix(in srgb, var(--r1-accent) 10%, var(--theme-background-alt))" : "var(--theme-background-alt)")
      .attr("stroke", accent ? "var(--r1-accent)" : "var(--theme-foreground-faint)");
    text(cx, cy - (sub ? 3 : -5), label, { size: 14, bold: true });
    if (sub) text(cx, cy + 15, sub, { size: 12, muted: true });
  };
  const plus = (cy: number) => {
    svg.append("circle").attr("cx", xs).attr("cy", cy).attr("r", 11).attr("fill", "var(--theme-background)")
      .attr("stroke", "var(--theme-foreground-muted)").attr("stroke-width", 1.5);
    text(xs, cy + 5.5, "+", { size: 17 });
  };

  const D = c.dModel / c.nHeads;
  const bw = 200;
  box(xs, 30, bw, 44, "tokens", `a window of ${c.seqLen}, ids < ${c.vocabSize}`);
  line(`M${xs},52 L${xs},82`);
  box(xs, 106, bw, 44, "embedding", `${c.vocabSize} × ${c.dModel} table`);

  // the repeated block
  const top = 144, bottom = 404;
  svg.append("rect").attr("x", 14).attr("y", top).attr("width", W - 28).attr("height", bottom - top).attr("rx", 12)
    .attr("fill", "none").attr("stroke", "var(--r1-accent)").attr("stroke-dasharray", "6 4");
  text(W - 26, top + 22, `× ${c.nLayers} block${c.nLayers === 1 ? "" : "s"}`, { size: 15, bold: true, anchor: "end", color: "var(--r1-accent)" });
  // the stream, top to bottom
  line(`M${xs},128 L${xs},${bottom + 36}`, true, 2.2);
  text(xs - 12, top + 40, "residual", { size: 12, anchor: "end", muted: true });
  text(xs - 12, top + 56, `stream, d = ${c.dModel}`, { size: 12, anchor: "end", muted: true });

  const branch = (y: number, label: string, sub: string, ret: number) => {
    line(`M${xs},${y} L${xs + 60},${y}`);
    box(xs + 110, y, 96, 40, "RMSNorm", "× gain g");
    line(`M${xs + 158},${y} L${xs + 190},${y}`);
    box(xs + 340, y, 296, 48, label, sub, true);
    line(`M${xs + 340},${y + 24} L${xs + 340},${ret} L${xs + 13},${ret}`);
    plus(ret);
  };
  branch(196, "causal self-attention",
    `RoPE · ${c.nHeads} heads, ${c.nKvHeads} KV head${c.nKvHeads === 1 ? "" : "s"} (${attentionKind(c.nHeads, c.nKvHeads)}) · d_h = ${D}`, 256);
  branch(310, "SwiGLU", `${c.dModel} → ${c.dFF} (gate ⊙ up) → ${c.dModel}`, 370);

  box(xs, bottom + 60, bw, 40, "RMSNorm", "final");
  line(`M${xs},${bottom + 80} L${xs},${bottom + 104}`);
  box(xs, bottom + 128, bw, 44, c.tiedHead ? "head = embeddingᵀ" : "output head", `${c.dModel} → ${c.vocabSize} logits`);
  line(`M${xs + bw / 2},${bottom + 128} L${xs + bw / 2 + 40},${bottom + 128}`);
  text(xs + bw / 2 + 48, bottom + 133, "softmax → p(next token)", { size: 13, anchor: "start", muted: true });
  return svg.node()!;
}

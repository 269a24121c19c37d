// D3 components for the lessons. DOM only: nothing here knows about the model.
export { lineChart, type LineChart, type LineChartOptions } from "./line-chart.js";
export { heatmap, type Heatmap, type HeatmapData, type HeatmapOptions, type ColorScheme } from "./heatmap.js";
export { tokenStrip, type Token, type TokenStrip, type TokenStripOptions } from "./token-strip.js";
export { progressBar, type ProgressBar, type ProgressOptions } from "./progress.js";
export { tex, texElement, texToHtml, MACROS } from "./tex.js";
export { PALETTE, fmt, fmtDuration } from "./style.js";

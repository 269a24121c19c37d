// Scoring models: pass@k, maj@k, format rate, with and without thinking.
export * from "./metrics.js";
export * from "./evaluate.js";
export * from "./probabilities.js";
export * from "./styled.js";
export * from "./budget.js";
export * from "./test-time.js";

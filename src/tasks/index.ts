// The task world in one import: generator, splits, tokenizer, chat template,
// verifier and rule rewards, the pretraining textbook and the cold-start traces.
export * from "./rng.js";
export * from "./splits.js";
export * from "./arithmetic.js";
export * from "./tokenizer.js";
export * from "./template.js";
export * from "./verifier.js";
export * from "./corpus.js";
export * from "./traces.js";
export * from "./styles.js";
export * from "./rewards.js";
export * from "./preference.js";

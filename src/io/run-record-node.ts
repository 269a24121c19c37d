// Node-only: reads and writes a run directory (the formats are in run-record.ts).
// Whole files (summary, config, model) are written to a temporary name and then
// renamed, so a run killed mid-save never leaves a half-written checkpoint where
// --from would later pick it up.

import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type MetricsRecord,
  type RunSummary,
  RUN_FILES,
  formatMetricsLine,
  formatSummary,
  parseMetricsJsonl,
  validateSummary,
} from "./run-record.js";
import {
  type Metadata,
  type TensorMap,
  type TensorSpec,
  checkAgainstSpec,
  decodeSafetensors,
  encodeSafetensors,
} from "./safetensors.js";

async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Appends one line to dir/metrics.jsonl (creating dir and file as needed). */
export async function appendMetrics(dir: string, record: MetricsRecord): Promise<void> {
  const line = formatMetricsLine(record);
  await mkdir(dir, { recursive: true });
  await appendFile(join(dir, RUN_FILES.metrics), line);
}

export async function readMetrics(dir: string): Promise<MetricsRecord[]> {
  return parseMetricsJsonl(await readFile(join(dir, RUN_FILES.metrics), "utf8"));
}

export async function writeSummary(dir: string, summary: RunSummary): Promise<void> {
  const text = formatSummary(summary);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, RUN_FILES.summary), text);
}

export async function readSummary(dir: string): Promise<RunSummary> {
  return validateSummary(await readJson(join(dir, RUN_FILES.summary)));
}

export async function writeConfig(dir: string, config: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, RUN_FILES.config), JSON.stringify(config, null, 2) + "\n");
}

export async function readConfig(dir: string): Promise<unknown> {
  return readJson(join(dir, RUN_FILES.config));
}

/** Writes dir/model.safetensors. */
export async function writeModel(dir: string, tensors: TensorMap, metadata?: Metadata): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, RUN_FILES.model), bytes);
}

/**
 * Reads dir/model.safetensors. With `expected`, also refuses a checkpoint whose
 * tensor names, dtypes or shapes differ from the model's (see checkAgainstSpec).
 */
export async function readModel(
  dir: string,
  expected?: Record<string, TensorSpec>,
): Promise<{ tensors: TensorMap; metadata: Metadata }> {
  const path = join(dir, RUN_FILES.model);
  const bytes = await readFile(path);
  let decoded: { tensors: TensorMap; metadata: Metadata };
  try {
    decoded = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (expected) checkAgainstSpec(decoded.tensors, expected);
  return decoded;
}

/** Writes dir/optimizer.safetensors (the optimiser's state, for resuming). */
export async function writeOptimizer(dir: string, tensors: TensorMap, metadata?: Metadata): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, RUN_FILES.optimizer), encodeSafetensors(tensors, metadata));
}

/** Reads dir/optimizer.safetensors, or undefined when the run saved none. */
export async function readOptimizer(dir: string): Promise<TensorMap | undefined> {
  const path = join(dir, RUN_FILES.optimizer);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return undefined;
  }
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).tensors;
}

/** Writes dir/reference.safetensors (an RL run's frozen reference model, for resuming). */
export async function writeReference(dir: string, tensors: TensorMap, metadata?: Metadata): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, RUN_FILES.reference), encodeSafetensors(tensors, metadata));
}

/** Reads dir/reference.safetensors, or undefined when there is none. */
export async function readReference(dir: string): Promise<TensorMap | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, RUN_FILES.reference));
  } catch {
    return undefined;
  }
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).tensors;
}

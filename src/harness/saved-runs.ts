// Page runs that survive a reload: a running job's state saved in the browser's
// Origin Private File System (OPFS), one safetensors file per run.
//
//   r1-lab-runs/<job>/<runId>~<step>.safetensors
//
// The file holds the model as `model.<name>`, the optimiser's moments as
// `optimizer.m.<name>` / `optimizer.v.<name>` and a reference model (GRPO) as
// `reference.<name>` (the names src/train/checkpoint.ts gives, so the file opens in
// PyTorch like any checkpoint), and in its metadata the job, its config, the step,
// the engine, the loop's counters and every record so far (so the charts can be
// redrawn). The worker writes it (off the page's main thread); the page lists,
// reads the metadata of, and deletes saved runs.
//
// A save never damages the one before it: the new state goes into a new file (its
// name carries the step) and only once that file is complete are the older ones
// removed. If the disk quota runs out half-way, the half-written file is removed and
// the previous checkpoint is still there.
import { decodeSafetensors, encodeSafetensors, safetensorsMetadata, type TensorMap } from "../io/safetensors.js";
import type { JobConfig, JobState, MetricRecord } from "./jobs.js";

/** What a saved run says about itself (its metadata). */
export interface SavedRunInfo {
  runId: string;
  job: string;
  config: JobConfig;
  /** steps taken when it was saved */
  step: number;
  engine: "webgpu" | "cpu";
  /** Date.now() when it was saved */
  savedAt: number;
}

/** A saved run as the page lists it. */
export interface SavedRunEntry extends SavedRunInfo {
  /** the file's size in bytes */
  bytes: number;
}

/** The few OPFS calls used here, so a test can give an in-memory directory. */
export interface RunDirectory {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<RunDirectory>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<RunFileHandle>;
  removeEntry(name: string): Promise<void>;
  keys(): AsyncIterable<string>;
}
export interface RunFileHandle {
  getFile(): Promise<Blob>;
  createWritable(): Promise<{ write(data: Uint8Array): Promise<void>; close(): Promise<void>; abort(): Promise<void> }>;
}

const ROOT_DIR = "r1-lab-runs";
const EXT = ".safetensors";

/** The browser's OPFS root, or null where there is none (old browsers, insecure pages). */
export async function browserRunRoot(): Promise<RunDirectory | null> {
  try {
    if (typeof navigator === "undefined" || !navigator.storage?.getDirectory) return null;
    return (await navigator.storage.getDirectory()) as unknown as RunDirectory;
  } catch {
    return null;
  }
}

/** A new run's id: time-ordered, unique enough for one browser. */
export function newRunId(): string {
  return `${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, "0")}`;
}

const fileName = (runId: string, step: number) => `${runId}~${String(step).padStart(9, "0")}${EXT}`;
function parseName(name: string): { runId: string; step: number } | null {
  const m = /^([a-z0-9-]+)~(\d{9})\.safetensors$/.exec(name);
  return m ? { runId: m[1]!, step: Number(m[2]) } : null;
}

function prefixed(prefix: string, tensors: TensorMap): TensorMap {
  return Object.fromEntries(Object.entries(tensors).map(([k, v]) => [`${prefix}${k}`, v]));
}
function unprefixed(prefix: string, tensors: TensorMap): TensorMap {
  return Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

/** One saved run as safetensors bytes. */
export function encodeSavedRun(info: SavedRunInfo, state: JobState, records: readonly MetricRecord[]): Uint8Array {
  if (info.step !== state.step) throw new Error(`saved run: info says step ${info.step}, the state step ${state.step}`);
  return encodeSafetensors(
    { ...prefixed("model.", state.model), ...prefixed("optimizer.", state.optimizer), ...prefixed("reference.", state.reference ?? {}) },
    { r1lab_run: JSON.stringify(info), r1lab_records: JSON.stringify(records), r1lab_counters: JSON.stringify(state.counters ?? {}) },
  );
}

function infoFrom(metadata: Record<string, string>): SavedRunInfo {
  const raw = metadata["r1lab_run"];
  if (raw === undefined) throw new Error("saved run: not a saved page run (no r1lab_run metadata)");
  const info = JSON.parse(raw) as SavedRunInfo;
  if (typeof info.job !== "string" || typeof info.step !== "number" || typeof info.config !== "object") throw new Error("saved run: its metadata is incomplete");
  return info;
}

/** The bytes of a saved run back to its info, state and records (refusing a damaged file with a reason). */
export function decodeSavedRun(bytes: Uint8Array): { info: SavedRunInfo; state: JobState; records: MetricRecord[] } {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const info = infoFrom(metadata);
  const records = JSON.parse(metadata["r1lab_records"] ?? "[]") as MetricRecord[];
  const reference = unprefixed("reference.", tensors);
  const state: JobState = { step: info.step, model: unprefixed("model.", tensors), optimizer: unprefixed("optimizer.", tensors) };
  if (Object.keys(reference).length > 0) state.reference = reference;
  const counters = JSON.parse(metadata["r1lab_counters"] ?? "{}") as Record<string, unknown>;
  if (Object.keys(counters).length > 0) state.counters = counters;
  return { info, records, state };
}

/** Why a save failed, in the learner's words (a full disk is the likely one). */
export function describeSaveError(e: unknown): string {
  const name = e instanceof Error || (typeof DOMException !== "undefined" && e instanceof DOMException) ? (e as Error).name : "";
  const message = e instanceof Error ? e.message : String(e);
  if (name === "QuotaExceededError" || /quota/i.test(message)) {
    return "the browser's storage for this site is full, so this checkpoint was not saved; the previous one is kept. " +
      "Delete saved runs you no longer need (below) to make room.";
  }
  return `the checkpoint could not be saved (${name ? `${name}: ` : ""}${message}); the previous one is kept`;
}

async function jobDirectory(root: RunDirectory, job: string, create: boolean): Promise<RunDirectory | null> {
  try {
    return await (await root.getDirectoryHandle(ROOT_DIR, { create })).getDirectoryHandle(job, { create });
  } catch (e) {
    if (!create && e instanceof Error && e.name === "NotFoundError") return null;
    throw e;
  }
}

async function names(dir: RunDirectory): Promise<string[]> {
  const out: string[] = [];
  for await (const n of dir.keys()) out.push(n);
  return out;
}

/**
 * Save a run: write the new file completely, then remove this run's older files.
 * Returns the new file's size. Throws Error(describeSaveError(…)) if it could not.
 */
export async function writeSavedRun(root: RunDirectory, info: SavedRunInfo, state: JobState, records: readonly MetricRecord[]): Promise<number> {
  const bytes = encodeSavedRun(info, state, records);
  const name = fileName(info.runId, info.step);
  let dir: RunDirectory | null = null;
  try {
    dir = await jobDirectory(root, info.job, true);
    const writable = await (await dir!.getFileHandle(name, { create: true })).createWritable();
    try {
      await writable.write(bytes);
      await writable.close();
    } catch (e) {
      await writable.abort().catch(() => {});
      throw e;
    }
  } catch (e) {
    await dir?.removeEntry(name).catch(() => {}); // a half-written file must never look like a checkpoint
    throw new Error(describeSaveError(e));
  }
  for (const other of await names(dir!)) {
    if (other !== name && parseName(other)?.runId === info.runId) await dir!.removeEntry(other).catch(() => {});
  }
  return bytes.length;
}

/** The newest complete file of each saved run of a job, newest run first. */
export async function listSavedRuns(root: RunDirectory, job: string): Promise<SavedRunEntry[]> {
  const dir = await jobDirectory(root, job, false);
  if (!dir) return [];
  const newest = new Map<string, { name: string; step: number }>();
  for (const n of await names(dir)) {
    const p = parseName(n);
    if (p && (newest.get(p.runId)?.step ?? -1) < p.step) newest.set(p.runId, { name: n, step: p.step });
  }
  const out: SavedRunEntry[] = [];
  for (const { name } of newest.values()) {
    try {
      const file = await (await dir.getFileHandle(name)).getFile();
      // the header only: 8 bytes of length, then the JSON (its records included)
      const len = Number(new DataView(await file.slice(0, 8).arrayBuffer()).getBigUint64(0, true));
      if (len > file.size - 8) continue; // damaged: not offered
      out.push({ ...infoFrom(safetensorsMetadata(new Uint8Array(await file.slice(0, 8 + len).arrayBuffer()))), bytes: file.size });
    } catch {
      // an unreadable file is skipped; it can still be deleted with its run
    }
  }
  return out.sort((a, b) => b.savedAt - a.savedAt);
}

/** Read a saved run in full (weights, optimiser, records). */
export async function readSavedRun(root: RunDirectory, job: string, runId: string): Promise<{ info: SavedRunInfo; state: JobState; records: MetricRecord[] }> {
  const entry = (await listSavedRuns(root, job)).find((e) => e.runId === runId);
  const dir = await jobDirectory(root, job, false);
  if (!entry || !dir) throw new Error(`no saved run ${runId} of ${job}`);
  const file = await (await dir.getFileHandle(fileName(runId, entry.step))).getFile();
  return decodeSavedRun(new Uint8Array(await file.arrayBuffer()));
}

/** Remove every file of a saved run. */
export async function deleteSavedRun(root: RunDirectory, job: string, runId: string): Promise<void> {
  const dir = await jobDirectory(root, job, false);
  if (!dir) return;
  for (const n of await names(dir)) if (parseName(n)?.runId === runId) await dir.removeEntry(n);
}

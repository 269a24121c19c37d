// The page's side of saved runs (saved-runs.ts; the worker writes them): which run is
// being saved and up to which step, the list under the harness, the offer to resume
// after a reload, and a save asked for when the page is hidden or left.
import type { BackendChoice, FromWorker } from "./protocol.js";
import type { JobDef } from "./jobs.js";
import { browserRunRoot, deleteSavedRun, listSavedRuns, newRunId, type SavedRunEntry } from "./saved-runs.js";
import { createSavedPanel, formatBytes } from "./ui/saved-panel.js";
import type { NoticeAction } from "./ui/run-view.js";

export interface PageSavesHooks {
  /** a run is starting, running or paused */
  busy(): boolean;
  notice(kind: "info" | "error", text: string, ...actions: NoticeAction[]): void;
  clearNotice(): void;
  /** put a saved run's settings into the form and continue it on `backend` */
  resume(entry: SavedRunEntry, backend: BackendChoice): void;
  /** ask the running worker to save at its next step */
  requestSave(): void;
  /** the step of the current run's last save, for pages and tests (null: none) */
  mark(step: number | null): void;
}

export interface PageSaves {
  /** the list of saved runs (hidden for a job that cannot be resumed) */
  readonly element: HTMLElement;
  /** a run starts: how the worker should save it (none for a job that cannot be resumed) */
  begin(resumeId?: string): { runId: string; every: number } | undefined;
  /** follow the worker's "restored", "saved" and "save-failed" messages */
  handle(m: FromWorker): void;
  /** the current run's last checkpoint, if it has one */
  last(): { runId: string; step: number } | null;
  /** the run was reset: the next one is a new run */
  forget(): void;
  list(): Promise<SavedRunEntry[]>;
  /** redraw the list */
  refresh(): Promise<SavedRunEntry[]>;
  /** continue saved run `id` */
  resume(id: string, backend?: BackendChoice): Promise<void>;
  /** after a reload: offer the newest saved run */
  offer(): Promise<void>;
  dispose(): void;
}

export function createPageSaves(job: JobDef, every: number, hooks: PageSavesHooks): PageSaves {
  let runId: string | null = null;
  let step = 0;
  const panel = createSavedPanel((e) => void resume(e.runId), (e) => void discard(e.runId));
  panel.element.hidden = true;

  async function list(): Promise<SavedRunEntry[]> {
    const root = job.resumable ? await browserRunRoot() : null;
    return root ? listSavedRuns(root, job.name) : [];
  }
  async function refresh(): Promise<SavedRunEntry[]> {
    const entries = await list().catch(() => []);
    panel.show(entries, hooks.busy(), runId);
    return entries;
  }
  async function resume(id: string, backend?: BackendChoice): Promise<void> {
    const entry = (await list()).find((e) => e.runId === id);
    if (!entry) { hooks.notice("error", "That saved run is gone (deleted in another tab?)."); return; }
    // on the engine it was saved on, unless another is asked for (a lost GPU → the CPU engine):
    // the same engine is what makes the resumed losses equal the uninterrupted run's
    hooks.resume(entry, backend ?? entry.engine);
  }
  async function discard(id: string): Promise<void> {
    const root = await browserRunRoot();
    if (root) await deleteSavedRun(root, job.name, id);
    if (id === runId && !hooks.busy()) runId = null;
    const entries = await refresh();
    if (!entries.length) hooks.clearNotice();
  }
  function saved(at: number): void {
    step = at;
    hooks.mark(at);
  }

  // leaving or hiding the page: save at the next step (the periodic saves cover a page killed first)
  const onVisibility = () => { if (document.hidden) hooks.requestSave(); };
  if (job.resumable) {
    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("pagehide", hooks.requestSave);
  }

  return {
    element: panel.element,
    begin(resumeId) {
      if (!job.resumable) return undefined;
      runId = resumeId ?? newRunId();
      step = 0;
      return { runId, every };
    },
    handle(m) {
      if (m.type === "restored") saved(m.step);
      else if (m.type === "saved") {
        saved(m.step);
        panel.say(`this run was saved at step ${m.step} (${formatBytes(m.bytes)}); a reload continues from there`);
        void refresh();
      } else if (m.type === "save-failed") {
        panel.say(`Not saved: ${m.message}`);
        hooks.notice("info", `Not saved: ${m.message}`);
      }
    },
    last: () => (runId && step > 0 ? { runId, step } : null),
    forget() {
      runId = null;
      step = 0;
      hooks.mark(null);
      if (job.resumable) void refresh();
    },
    list, refresh, resume,
    async offer() {
      if (!job.resumable) return;
      const e = (await refresh())[0];
      if (!e || hooks.busy() || runId) return;
      hooks.notice("info", `A run of this lesson was saved at step ${e.step} of ${e.config.steps} (seed ${e.config.seed}, ${formatBytes(e.bytes)}). ` +
        "Resume it where it stopped, or discard it?",
        { label: "Resume", fn: () => void resume(e.runId) },
        { label: "Discard", fn: () => void discard(e.runId) });
    },
    dispose() {
      document.removeEventListener("visibilitychange", onVisibility);
      window.removeEventListener("pagehide", hooks.requestSave);
    },
  };
}

// The saved runs of one lesson (saved-runs.ts), under its harness: each with its
// step, size and age, a Resume button and a Delete button. The controller refreshes
// the list after every save and offers the newest run after a reload.
import { h } from "../../viz/dom.js";
import { fmt } from "../../viz/style.js";
import type { SavedRunEntry } from "../saved-runs.js";

export interface SavedPanel {
  readonly element: HTMLElement;
  /** redraw the list; `busy` disables Resume (a run is going on) */
  show(entries: readonly SavedRunEntry[], busy: boolean, current: string | null): void;
  /** a line under the list: the last save, or why it failed */
  say(text: string): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${fmt(n / 1024)} KB`;
  return `${fmt(n / 1024 ** 2)} MB`;
}

function ago(t: number): string {
  const s = Math.max(0, (Date.now() - t) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}

export function createSavedPanel(onResume: (e: SavedRunEntry) => void, onDelete: (e: SavedRunEntry) => void): SavedPanel {
  const element = h("details", "r1h-saved");
  const summary = h("summary", undefined, "saved runs");
  const list = h("ul");
  const line = h("div", "r1h-saved-line");
  element.append(summary, list, line);

  return {
    element,
    show(entries, busy, current) {
      summary.textContent = `saved runs (${entries.length}, ${formatBytes(entries.reduce((s, e) => s + e.bytes, 0))}): kept in this browser, so a reload loses at most a few steps`;
      list.replaceChildren(...entries.map((e) => {
        const li = h("li");
        li.dataset.runId = e.runId;
        const mine = e.runId === current;
        li.append(`step ${e.step} of ${e.config.steps} · seed ${e.config.seed} · ${e.engine === "cpu" ? "CPU engine" : "WebGPU"} · ${formatBytes(e.bytes)} · saved ${ago(e.savedAt)}${mine ? " · this run" : ""} `);
        const resume = h("button", undefined, "Resume");
        resume.type = "button";
        resume.dataset.action = "resume-saved";
        resume.disabled = busy;
        resume.addEventListener("click", () => onResume(e));
        const del = h("button", undefined, "Delete");
        del.type = "button";
        del.dataset.action = "delete-saved";
        del.disabled = busy && mine;
        del.addEventListener("click", () => onDelete(e));
        li.append(resume, " ", del);
        return li;
      }));
      element.hidden = entries.length === 0;
    },
    say(text) { line.textContent = text; },
  };
}

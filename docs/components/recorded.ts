// Pieces every "recorded runs" table shares: a run's wall time, and the commands that made
// the rows, so a reader can re-make any of them.
import { h } from "../lib/viz/dom.js";

/** "45 s" under two minutes, else "34 min"; `none` when the run has no wall time. */
export function wallTime(wallS: unknown, none = "–"): string {
  if (typeof wallS !== "number") return none;
  return wallS < 120 ? `${wallS.toFixed(0)} s` : `${(wallS / 60).toFixed(0)} min`;
}

/** "Made by:" and a list of each run's name and command. */
export function madeBy(runs: readonly { name: string; command: string }[]): HTMLElement[] {
  const commands = h("ul");
  for (const r of runs) {
    const li = h("li", undefined, `${r.name}: `);
    li.append(h("code", undefined, r.command));
    commands.append(li);
  }
  return [h("p", "r1-note", "Made by:"), commands];
}

type Metrics = Record<string, number | null | undefined>;
type Format = (v: number | null | undefined) => string;

/** "before → after" of a metric a run records as `key_before` and `key`; "–" when it has none. */
export function beforeAfter(m: Metrics, key: string, f: Format): string {
  return key in m ? `${f(m[`${key}_before`])} → ${f(m[key])}` : "–";
}

/** One row per run: its name, one cell per column, its wall time. */
export function runsTable<R extends { name: string; metrics: Metrics; wall_s?: unknown }>(
  runs: readonly R[], columns: readonly { label: string; cell(m: Metrics, run: R): string }[], cls = "r1-table",
): HTMLElement {
  const t = h("table", cls);
  const hr = h("tr");
  for (const k of ["run", ...columns.map((c) => c.label), "time"]) hr.append(h("th", undefined, k));
  t.append(hr);
  for (const r of runs) {
    const tr = h("tr");
    tr.dataset.run = r.name;
    tr.append(h("td", undefined, r.name), ...columns.map((c) => h("td", "num", c.cell(r.metrics, r))), h("td", "num", wallTime(r.wall_s)));
    t.append(tr);
  }
  return t;
}

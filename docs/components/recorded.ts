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

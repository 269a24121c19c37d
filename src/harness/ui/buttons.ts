// The harness's buttons (Run, Pause, Step, Reset) and its status line, and the rule
// that says which buttons work in which state of a run.
import { h } from "../../viz/dom.js";

export type HarnessState = "idle" | "starting" | "running" | "paused" | "done" | "error" | "lost";

/** a run is under way: the form is locked */
export const isBusy = (s: HarnessState): boolean => s === "starting" || s === "running" || s === "paused";

/**
 * Which buttons are enabled: Run starts a run when the inputs are valid (or resumes a
 * paused one), Pause stops a running one at the next step, Step takes one step (from
 * a stop, it starts a run paused after one step), Reset clears what a run left.
 */
export function enabledButtons(state: HarnessState, valid: boolean, hasRecords: boolean) {
  const stopped = state === "idle" || state === "done" || state === "error";
  return {
    run: state === "paused" || (stopped && valid),
    pause: state === "running",
    step: state === "paused" || state === "running" || (stopped && valid),
    reset: !(state === "idle" && !hasRecords),
  };
}

export interface Buttons {
  readonly element: HTMLElement;
  readonly run: HTMLButtonElement;
  readonly pause: HTMLButtonElement;
  readonly step: HTMLButtonElement;
  readonly reset: HTMLButtonElement;
  /** the words after the buttons: "ready", "running", "paused at step 12", … */
  readonly status: HTMLElement;
  sync(state: HarnessState, valid: boolean, hasRecords: boolean, runLabel: string): void;
}

export function createButtons(): Buttons {
  const make = (action: string, text: string, cls?: string) => {
    const b = h("button", cls, text);
    b.type = "button";
    b.dataset.action = action;
    return b;
  };
  const run = make("run", "▶ Run", "r1h-primary");
  const pause = make("pause", "Pause");
  const step = make("step", "Step ›");
  const reset = make("reset", "⟲ Reset");
  const status = h("span", "r1h-status", "ready");
  const element = h("div", "r1h-buttons");
  element.append(run, pause, step, reset, status);
  return {
    element, run, pause, step, reset, status,
    sync(state, valid, hasRecords, runLabel) {
      const on = enabledButtons(state, valid, hasRecords);
      run.disabled = !on.run;
      pause.disabled = !on.pause;
      step.disabled = !on.step;
      reset.disabled = !on.reset;
      run.textContent = state === "paused" ? "▶ Resume" : runLabel;
    },
  };
}

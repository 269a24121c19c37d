// Hidden tabs: a run pauses when its tab is hidden and resumes when the tab is shown.
//
// Browsers throttle a hidden tab's timers and may starve its GPU work, so a run left
// going would crawl anyway; pausing at a step boundary keeps it exact and says so.
// A checkbox keeps it running instead (for a learner who wants the CPU busy while
// reading another tab). Only a pause this module made is undone by it: a run the
// learner paused stays paused when the tab comes back.

export interface Pausable {
  readonly state: string;
  pause(): void;
  run(): void;
}

export interface HiddenTabControl {
  /** the "keep running in a hidden tab" checkbox, for the harness's controls */
  element: HTMLElement;
  /** the status text while paused by a hidden tab (or null) */
  readonly pausedByHidden: boolean;
  dispose(): void;
}

export function pauseWhenHidden(run: Pausable, doc: Document, onChange: (message: string) => void): HiddenTabControl {
  const label = doc.createElement("label");
  label.className = "r1h-hidden-tab";
  const box = doc.createElement("input");
  box.type = "checkbox";
  box.name = "keep-running-hidden";
  label.append(box, " keep running in a hidden tab");
  let pausedByHidden = false;
  const onVisibility = () => {
    if (doc.hidden && run.state === "running" && !box.checked) {
      pausedByHidden = true;
      run.pause();
      onChange("paused while the tab is hidden; it resumes when you come back");
    } else if (!doc.hidden && pausedByHidden) {
      pausedByHidden = false;
      if (run.state === "paused") {
        run.run();
        onChange("resumed: the tab is visible again");
      }
    }
  };
  doc.addEventListener("visibilitychange", onVisibility);
  return {
    element: label,
    get pausedByHidden() { return pausedByHidden; },
    dispose: () => doc.removeEventListener("visibilitychange", onVisibility),
  };
}

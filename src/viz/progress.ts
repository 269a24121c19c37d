// A progress bar with rate and ETA.
//
//   const bar = progressBar({ unit: "steps" });
//   bar.update(step, totalSteps);   // rate and ETA come from the recent updates
//   bar.pause(); bar.resume();      // paused time does not count
//   bar.done("finished in 12.3s");
import { ensureStyles, el, fmtDuration } from "./style.js";

export interface ProgressOptions {
  unit?: string;
  /** seconds of recent history the rate is measured over (default 10) */
  window?: number;
  /** injectable clock in ms, for tests (default performance.now) */
  now?: () => number;
}

export interface ProgressBar {
  readonly element: HTMLElement;
  update(done: number, total: number): void;
  pause(): void;
  resume(): void;
  /** mark finished, with an optional message */
  done(message?: string): void;
  /** back to empty */
  reset(message?: string): void;
  /** items per second over the recent window (NaN before two updates) */
  readonly rate: number;
  /** seconds left (NaN when unknown) */
  readonly eta: number;
  /** active seconds since the first update */
  readonly elapsed: number;
}

export function progressBar(options: ProgressOptions = {}): ProgressBar {
  ensureStyles();
  const unit = options.unit ?? "steps";
  const windowS = options.window ?? 10;
  const now = options.now ?? (() => performance.now());
  const root = el("div", "r1v r1v-progress");
  const track = el("div", "r1v-progress-track");
  const fill = el("div", "r1v-progress-fill");
  track.append(fill);
  const text = el("span", "r1v-progress-text", "not started");
  root.append(track, text);
  root.setAttribute("role", "progressbar");
  root.setAttribute("aria-valuemin", "0");

  // active time excludes paused stretches
  let activeMs = 0;
  let runningSince: number | null = null;
  let samples: { t: number; done: number }[] = [];
  let lastDone = 0;
  let lastTotal = 0;
  let rate = NaN;
  let eta = NaN;

  const active = () => activeMs + (runningSince === null ? 0 : now() - runningSince);

  function render(extra?: string): void {
    const pct = lastTotal > 0 ? Math.min(100, (100 * lastDone) / lastTotal) : 0;
    fill.style.width = `${pct}%`;
    root.setAttribute("aria-valuenow", String(lastDone));
    root.setAttribute("aria-valuemax", String(lastTotal));
    const parts = [`${lastDone} / ${lastTotal} ${unit}`];
    if (Number.isFinite(rate)) parts.push(rate >= 10 ? `${rate.toFixed(0)} ${unit}/s` : rate >= 1 ? `${rate.toFixed(1)} ${unit}/s` : `${(1 / rate).toFixed(2)} s/${unit.replace(/s$/, "")}`);
    if (extra) parts.push(extra);
    else if (Number.isFinite(eta)) parts.push(`ETA ${fmtDuration(eta)}`);
    text.textContent = parts.join(" · ");
  }

  return {
    element: root,
    update(done, total) {
      if (runningSince === null) runningSince = now();
      const t = active() / 1000;
      lastDone = done;
      lastTotal = total;
      samples.push({ t, done });
      while (samples.length > 2 && t - samples[0]!.t > windowS) samples.shift();
      const first = samples[0]!;
      if (samples.length >= 2 && t > first.t && done > first.done) {
        rate = (done - first.done) / (t - first.t);
        eta = Math.max(0, (total - done) / rate);
      }
      render();
    },
    pause() {
      if (runningSince !== null) { activeMs += now() - runningSince; runningSince = null; }
      render("paused");
    },
    resume() {
      if (runningSince === null && samples.length > 0) runningSince = now();
      render();
    },
    done(message) {
      if (runningSince !== null) { activeMs += now() - runningSince; runningSince = null; }
      eta = 0;
      render(message ?? `done in ${fmtDuration(activeMs / 1000)}`);
      fill.style.width = "100%";
    },
    reset(message) {
      activeMs = 0; runningSince = null; samples = []; lastDone = 0; lastTotal = 0; rate = NaN; eta = NaN;
      fill.style.width = "0%";
      text.textContent = message ?? "not started";
    },
    get rate() { return rate; },
    get eta() { return eta; },
    get elapsed() { return active() / 1000; },
  };
}

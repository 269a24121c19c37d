// A one-line progress bar with ETA for the terminal (stderr), plain lines when
// stderr is not a terminal (CI logs).
export class Progress {
  private start = Date.now();
  private lastPlain = 0;
  constructor(private total: number, private label: string) {}

  update(done: number, note = ""): void {
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const frac = Math.min(1, done / this.total);
    const text = `${this.label} ${done}/${this.total} ${(frac * 100).toFixed(0)}% · ${fmt(elapsed)} elapsed · ETA ${fmt(eta)}${note ? " · " + note : ""}`;
    if (process.stderr.isTTY) {
      const width = 24;
      const bar = "█".repeat(Math.round(frac * width)).padEnd(width, "·");
      process.stderr.write(`\r${bar} ${text}\x1b[K`);
      if (done >= this.total) process.stderr.write("\n");
    } else if (done >= this.total || Date.now() - this.lastPlain > 10_000) {
      this.lastPlain = Date.now();
      process.stderr.write(text + "\n");
    }
  }
}

function fmt(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60).toString().padStart(2, "0")}s` : `${s.toFixed(1)}s`;
}

/** An onProgress(done, total) callback (e.g. for an evaluation) drawing a Progress made once the total is known. */
export function progressBar(label: string): (done: number, total: number) => void {
  let bar: Progress | null = null;
  return (done, total) => {
    bar ??= new Progress(total, label);
    bar.update(done);
  };
}

// The page's end of the training worker (worker.ts): start it, send it messages,
// stop it. Messages from a worker that was stopped are dropped, so a run that was
// reset can never write into the next one.
import type { FromWorker, ToWorker } from "./protocol.js";

export interface WorkerLink {
  send(m: ToWorker): void;
  /** terminate the worker; nothing it sent afterwards arrives */
  stop(): void;
}

/**
 * Start a module worker and post `first` to it. `onMessage` gets its messages;
 * `onFail` gets the reason if the worker could not be made or failed to load.
 */
export function startWorker(
  url: string, first: ToWorker, onMessage: (m: FromWorker) => void, onFail: (reason: string) => void,
): WorkerLink | null {
  let w: Worker;
  try {
    w = new Worker(url, { type: "module" });
  } catch (e) {
    onFail(`Could not start the training worker: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
  let live = true;
  const link: WorkerLink = {
    send: (m) => { if (live) w.postMessage(m); },
    stop: () => { live = false; w.terminate(); },
  };
  w.onmessage = (ev: MessageEvent<FromWorker>) => { if (live) onMessage(ev.data); };
  w.onerror = (ev: ErrorEvent) => {
    if (!live) return;
    ev.preventDefault();
    link.stop();
    onFail(`The training worker failed: ${ev.message || "it could not be loaded"}`);
  };
  w.postMessage(first);
  return link;
}

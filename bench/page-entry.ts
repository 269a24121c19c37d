// Entry point of the page bundle bench/run.ts builds: exposes runBrowserBench to
// page.evaluate(). Progress lines go to the console, which the host forwards.
import { runBrowserBench } from "./browser.js";

declare global {
  interface Window {
    runBrowserBench: typeof runBrowserBench;
  }
}

window.runBrowserBench = runBrowserBench;

// The harness's look: one style sheet, added to the page the first time a harness is made.
const CSS = `
.r1h { font-family: var(--sans-serif, system-ui, sans-serif); font-size: 13px; border: 1px solid var(--theme-foreground-faintest, #ddd);
  border-radius: 8px; padding: 10px 12px; margin: 1rem 0; max-width: 1100px; background: var(--theme-background-alt, #fafafa); }
.r1h-row { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 8px 14px; margin-bottom: 8px; }
.r1h-field { display: flex; flex-direction: column; gap: 2px; }
.r1h-field > span { font-size: 11px; color: var(--theme-foreground-muted, #555); }
.r1h-field input[type=text], .r1h-field select { font: inherit; width: 7.5em; padding: 2px 5px; border-radius: 4px;
  border: 1px solid var(--theme-foreground-faint, #bbb); background: var(--theme-background, #fff); color: var(--theme-foreground, #111); }
.r1h-field select { width: auto; }
.r1h-field-error { color: #d1453b; font-size: 11px; max-width: 14em; }
.r1h-field-error:empty { display: none; }
.r1h-field.r1h-invalid input { border-color: #d1453b; outline: 1px solid #d1453b; }
.r1h-buttons { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.r1h-hidden-tab { font-size: 12px; color: var(--theme-foreground-muted, #555); margin-left: 8px; }
.r1h-buttons button { font: inherit; padding: 3px 12px; border-radius: 6px; cursor: pointer; border: 1px solid var(--theme-foreground-faint, #bbb);
  background: var(--theme-background, #fff); color: var(--theme-foreground, #111); }
.r1h-buttons button.r1h-primary { background: #4269d0; border-color: #4269d0; color: #fff; }
.r1h-buttons button:disabled { opacity: .45; cursor: default; }
.r1h-status { color: var(--theme-foreground-muted, #555); margin-left: 6px; }
.r1h-eta { font-size: 12px; color: var(--theme-foreground-muted, #555); margin: 4px 0; }
.r1h-eta.r1h-long { color: #a15c00; font-weight: 600; }
.r1h-engine { font-size: 12px; color: var(--theme-foreground-muted, #555); margin: 4px 0; }
.r1h-errors { color: #d1453b; font-size: 12px; margin: 4px 0; }
.r1h-errors:empty { display: none; }
.r1h-alert { border-left: 4px solid #d1453b; background: color-mix(in srgb, #d1453b 8%, transparent); padding: 6px 10px; margin: 6px 0; }
.r1h-alert.r1h-info { border-left-color: #c98a00; background: color-mix(in srgb, #c98a00 8%, transparent); }
.r1h-alert button { margin-left: 8px; }
.r1h-saved { font-size: 12px; margin-top: 8px; color: var(--theme-foreground-muted, #555); }
.r1h-saved ul { margin: 4px 0; padding-left: 18px; }
.r1h-saved li button { font: inherit; font-size: 11px; padding: 1px 8px; border-radius: 4px; cursor: pointer; }
.r1h-charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 10px 18px; margin-top: 8px; }
`;
let cssInjected = false;
export function injectCss(): void {
  if (cssInjected) return;
  cssInjected = true;
  const s = document.createElement("style");
  s.textContent = CSS;
  document.head.append(s);
}


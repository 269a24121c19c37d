// The harness's form: a preset picker, an engine picker and one input per
// hyperparameter. Every change is validated at once (jobs.ts validateConfig); an
// invalid input is outlined and its message shown beside it (and all of them under
// the buttons, with any message about several fields at once), and the controller keeps Run
// disabled until the form is valid again.
import { h } from "../../viz/dom.js";
import { validateConfig, type JobConfig, type JobDef, type ParamSpec, type ParamValue } from "../jobs.js";
import type { BackendChoice } from "../protocol.js";

export interface Form {
  /** the row of pickers and inputs */
  readonly element: HTMLElement;
  /** the messages of invalid inputs (placed by the controller, under the buttons) */
  readonly errorsBox: HTMLElement;
  readonly engineSelect: HTMLSelectElement;
  /** the engine picked */
  engine(): BackendChoice;
  /** the inputs' raw values (strings, or booleans for checkboxes) */
  values(): Record<string, unknown>;
  /** set inputs as if typed (unknown keys are ignored) */
  setValues(values: Readonly<Record<string, unknown>>): void;
  selectPreset(name: string): void;
  /** validate the inputs, mark the bad ones and show their messages */
  validate(): { config: JobConfig | null; errors: string[] };
  /** lock the form while a run goes on */
  setBusy(busy: boolean): void;
}

interface Input {
  spec: ParamSpec;
  field: HTMLElement;
  /** the message beside the control when its value is refused */
  message: HTMLElement;
  el: HTMLInputElement | HTMLSelectElement;
  get(): unknown;
  set(v: unknown): void;
}

function select(name: string, options: readonly (readonly [string, string])[]): HTMLSelectElement {
  const sel = h("select");
  sel.name = name;
  for (const [value, label] of options) {
    const o = h("option", undefined, label);
    o.value = value;
    sel.append(o);
  }
  return sel;
}

function field(label: string, control: HTMLElement): HTMLLabelElement {
  const f = h("label", "r1h-field");
  f.append(h("span", undefined, label), control);
  return f;
}

/** One input for one hyperparameter: a menu, a checkbox or a text box. */
function makeInput(spec: ParamSpec): Input {
  let el: HTMLInputElement | HTMLSelectElement;
  if (spec.kind === "choice") {
    el = select(spec.key, (spec.choices ?? []).map((c) => [c, c] as const));
  } else {
    const inp = h("input");
    if (spec.kind === "bool") inp.type = "checkbox";
    else {
      inp.type = "text";
      inp.inputMode = spec.kind === "int" ? "numeric" : "decimal";
      inp.spellcheck = false;
    }
    inp.name = spec.key;
    el = inp;
  }
  const isBox = el instanceof HTMLInputElement && el.type === "checkbox";
  const f = field(spec.label, el);
  f.dataset.param = spec.key;
  if (spec.help) f.title = spec.help;
  const message = h("small", "r1h-field-error");
  message.setAttribute("role", "alert");
  f.append(message);
  return {
    spec, field: f, el, message,
    get: () => (isBox ? (el as HTMLInputElement).checked : el.value),
    set: (v) => {
      if (isBox) (el as HTMLInputElement).checked = v === true || v === "true";
      else el.value = String(v);
    },
  };
}

export function createForm(
  job: JobDef, params: readonly ParamSpec[], backend: BackendChoice,
  fixed: Readonly<Record<string, ParamValue>> | undefined, onChange: () => void,
): Form {
  const row = h("div", "r1h-row");
  const presetSelect = select("preset", Object.keys(job.presets).map((n) => [n, n] as const));
  const custom = h("option", undefined, "custom");
  custom.value = "";
  custom.disabled = true;
  presetSelect.append(custom);
  const engineSelect = select("engine", [["auto", "auto"], ["webgpu", "WebGPU"], ["cpu", "CPU"]]);
  engineSelect.value = backend;
  const engineField = field("engine", engineSelect);
  engineField.title = "auto: WebGPU on a GPU; the CPU engine when this browser has no adapter or only a software one (the CPU engine is faster there)";
  row.append(field("preset", presetSelect), engineField);

  const inputs = new Map<string, Input>();
  for (const spec of params) {
    const input = makeInput(spec);
    inputs.set(spec.key, input);
    row.append(input.field);
    const isText = input.el instanceof HTMLInputElement && input.el.type === "text";
    input.el.addEventListener(isText ? "input" : "change", () => {
      presetSelect.value = matchingPreset() ?? "";
      onChange();
    });
  }
  const errorsBox = h("div", "r1h-errors");
  errorsBox.setAttribute("role", "alert");

  function values(): Record<string, unknown> {
    const v: Record<string, unknown> = {};
    for (const [k, i] of inputs) v[k] = i.get();
    return v;
  }
  /** the preset the inputs equal, if any (the picker says "custom" otherwise) */
  function matchingPreset(): string | null {
    const v = values();
    for (const [name, preset] of Object.entries(job.presets)) {
      if (params.every((p) => String(preset[p.key]) === String(v[p.key]))) return name;
    }
    return null;
  }
  function validate(): { config: JobConfig | null; errors: string[] } {
    const r = validateConfig(job, values());
    for (const i of inputs.values()) {
      i.field.classList.remove("r1h-invalid");
      i.message.textContent = "";
    }
    if (r.ok) {
      errorsBox.textContent = "";
      return { config: fixed ? { ...r.config, ...fixed } : r.config, errors: [] };
    }
    for (const e of r.errors) {
      const input = inputs.get(e.key);
      if (!input) continue;
      input.field.classList.add("r1h-invalid");
      input.message.textContent = e.message;
    }
    const errors = r.errors.map((e) => e.message);
    errorsBox.textContent = errors.join(" · ");
    return { config: null, errors };
  }
  function selectPreset(name: string): void {
    const p = job.presets[name];
    if (!p) throw new Error(`job ${job.name} has no preset "${name}"`);
    for (const [k, i] of inputs) i.set(p[k]);
    presetSelect.value = name;
    onChange();
  }
  presetSelect.addEventListener("change", () => { if (presetSelect.value) selectPreset(presetSelect.value); });
  engineSelect.addEventListener("change", onChange);

  return {
    element: row, errorsBox, engineSelect,
    engine: () => engineSelect.value as BackendChoice,
    values,
    setValues(v) {
      for (const [k, val] of Object.entries(v)) inputs.get(k)?.set(val);
      presetSelect.value = matchingPreset() ?? "";
      onChange();
    },
    selectPreset,
    validate,
    setBusy(busy) {
      for (const i of inputs.values()) i.el.disabled = busy;
      presetSelect.disabled = busy;
      engineSelect.disabled = busy;
    },
  };
}

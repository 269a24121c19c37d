// Stop a run the moment its numbers stop being numbers.
//
// The optimiser already refuses to apply a step whose gradient norm is not finite
// (its clip coefficient becomes 0 on the device, so the weights are untouched).
// This check, run when the step's scalars are read back, ends the run with a
// message that names the step.

export class NonFiniteError extends Error {
  override name = "NonFiniteError";
  constructor(readonly step: number, readonly what: string, readonly value: number) {
    super(`step ${step}: ${what} is ${value} — training stopped (the weights were not updated with it). Try a lower learning rate or stronger gradient clipping.`);
  }
}

export function assertFinite(step: number, values: Record<string, number>): void {
  for (const [what, value] of Object.entries(values)) {
    if (!Number.isFinite(value)) throw new NonFiniteError(step, what, value);
  }
}

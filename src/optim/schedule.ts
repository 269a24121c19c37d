// Learning-rate schedule: linear warmup, then cosine decay to minRatio × peak.
export interface ScheduleConfig {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** floor of the cosine, as a fraction of peak (0.1 is common) */
  minRatio: number;
}

/** learning rate for a 0-based step */
export function learningRate(step: number, c: ScheduleConfig): number {
  if (c.warmupSteps > 0 && step < c.warmupSteps) return (c.peak * (step + 1)) / c.warmupSteps;
  const span = Math.max(1, c.totalSteps - c.warmupSteps);
  const progress = Math.min(1, (step - c.warmupSteps) / span);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return c.peak * (c.minRatio + (1 - c.minRatio) * cosine);
}

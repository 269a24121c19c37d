// Adds to data/results/rlhf.json the comparison "at the same KL": for each preset, the
// KL from the start that RL with the rule rewards ended at, and the gold reward the run
// against the learned reward model had when its own KL first reached that value
// (src/eval/preference.ts goldAtKl, on the held-out curve the run recorded, which
// starts at KL 0 with the starting model's gold reward). DPO's end point is listed too.
//   node --import tsx scripts/rlhf-same-kl.ts      (after scripts/record-results.ts rlhf …)
import { readFileSync, writeFileSync } from "node:fs";
import { goldAtKl } from "../src/eval/preference.js";

interface Run { name: string; metrics: Record<string, number>; series?: Record<string, [number, number][]> }
const file = "data/results/rlhf.json";
const results = JSON.parse(readFileSync(file, "utf8")) as { runs: Run[]; claims: string[]; same_kl?: unknown };

/** a run's held-out (KL, gold) curve in step order, from its start */
export function klGoldCurve(r: Run): [number, number][] {
  const kl = new Map(r.series?.heldout_kl ?? []);
  const curve: [number, number][] = [[0, r.metrics.gold_reward_before!]];
  for (const [step, gold] of r.series?.heldout_gold_reward ?? []) if (kl.has(step)) curve.push([kl.get(step)!, gold]);
  return curve;
}

const sameKl: Record<string, Record<string, number | null>> = {};
for (const preset of ["ci", "default"]) {
  const get = (name: string) => results.runs.find((r) => r.name === `${name}-${preset}`);
  const rules = get("rlhf-rules");
  const rm = get("rlhf-rm");
  const dpo = get("dpo");
  if (!rules || !rm) continue;
  const kl = rules.metrics.kl!;
  const round = (x: number | null) => (x === null ? null : Math.round(x * 1e4) / 1e4);
  sameKl[preset] = {
    kl, gold_rules: rules.metrics.gold_reward!, gold_rm_at_kl: round(goldAtKl(klGoldCurve(rm), kl)),
    gold_rm_end: rm.metrics.gold_reward!, kl_rm_end: rm.metrics.kl!,
    ...(dpo ? { gold_dpo: dpo.metrics.gold_reward!, kl_dpo: dpo.metrics.kl! } : {}),
  };
}
results.same_kl = sameKl;
const text = JSON.stringify(results, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, nums: string) => `[${nums.replace(/\s+/g, "")}]`);
writeFileSync(file, text + "\n");
console.log(`wrote same_kl to ${file}: ${JSON.stringify(sameKl)}`);

// What the MLA page says about the recorded runs (data/results/mla.json), computed from
// the recordings themselves: the page prints these sentences, the results file keeps
// them as its claims, and tests/unit/results-mla.test.ts checks that the file's
// claims are exactly what its runs give. A re-recorded run changes the text.
import { ATTENTION_KINDS, type AttentionKind } from "../../train/presets.js";

export interface RecordedRun {
  name: string;
  command: string;
  params: number;
  metrics: Readonly<Record<string, number | null>>;
}

export interface KindFacts {
  kind: AttentionKind;
  seeds: number;
  params: number;
  cacheElementsPerToken: number;
  cacheBytesPerToken: number;
  valMean: number;
  valMin: number;
  valMax: number;
  /** median over seeds of decode tokens/s (wall-clock: varies with the machine's load) */
  decodeTokensPerS: number;
}

export interface MlaFacts {
  preset: string;
  kinds: Record<AttentionKind, KindFacts>;
  /** MLA's cache over MHA's */
  cacheRatio: number;
  /** mean MLA val_loss over mean MHA val_loss, and the range of the per-seed ratios */
  valRatio: number;
  valRatioMin: number;
  valRatioMax: number;
  /** the target of issue 13: cache under half of MHA's at val_loss within 1.1× */
  cacheTargetMet: boolean;
  lossTargetMet: boolean;
}

const KIND_RE = /--attention (mha|gqa|mqa|mla)\b/;
const SEED_RE = /--seed (\d+)/;

/** the runs of one preset, grouped by attention kind and paired by seed */
export function mlaFacts(runs: readonly RecordedRun[], preset: string): MlaFacts {
  const mine = runs.filter((r) => r.command.includes(`--preset ${preset} `));
  const byKind = (kind: AttentionKind) => mine.filter((r) => KIND_RE.exec(r.command)?.[1] === kind);
  const num = (r: RecordedRun, k: string): number => {
    const v = r.metrics[k];
    if (typeof v !== "number") throw new Error(`${r.name}: metrics.${k} is missing`);
    return v;
  };
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const kinds = {} as Record<AttentionKind, KindFacts>;
  for (const kind of ATTENTION_KINDS) {
    const rs = byKind(kind);
    if (rs.length === 0) throw new Error(`no ${preset} run with --attention ${kind}`);
    const vals = rs.map((r) => num(r, "val_loss"));
    kinds[kind] = {
      kind, seeds: rs.length, params: rs[0]!.params,
      cacheElementsPerToken: num(rs[0]!, "kv_cache_elements_per_token"), cacheBytesPerToken: num(rs[0]!, "kv_cache_bytes_per_token"),
      valMean: vals.reduce((a, b) => a + b, 0) / vals.length, valMin: Math.min(...vals), valMax: Math.max(...vals),
      decodeTokensPerS: median(rs.map((r) => num(r, "decode_tokens_per_s"))),
    };
  }
  const seedOf = (r: RecordedRun) => SEED_RE.exec(r.command)?.[1];
  const ratios = byKind("mla").flatMap((m) => {
    const h = byKind("mha").find((r) => seedOf(r) === seedOf(m));
    return h ? [num(m, "val_loss") / num(h, "val_loss")] : [];
  });
  const cacheRatio = kinds.mla.cacheElementsPerToken / kinds.mha.cacheElementsPerToken;
  const valRatio = kinds.mla.valMean / kinds.mha.valMean;
  return {
    preset, kinds, cacheRatio, valRatio, valRatioMin: Math.min(...ratios), valRatioMax: Math.max(...ratios),
    cacheTargetMet: cacheRatio < 0.5, lossTargetMet: valRatio <= 1.1,
  };
}

const pct = (x: number) => `${Math.round(100 * x)}%`;
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);

/** the sentences the page and the results file state about one preset's runs */
export function mlaClaims(f: MlaFacts): string[] {
  const { mha, gqa, mqa, mla } = f.kinds;
  const seeds = mla.seeds;
  return [
    `${f.preset}: MLA caches ${mla.cacheElementsPerToken} values per token (${mla.cacheBytesPerToken} bytes), MHA ${mha.cacheElementsPerToken} (${mha.cacheBytesPerToken} bytes): ` +
      `${pct(f.cacheRatio)} of MHA's, ${f.cacheTargetMet ? "under" : "not under"} half; GQA caches ${gqa.cacheElementsPerToken}, MQA ${mqa.cacheElementsPerToken}. ` +
      `Parameters: MHA ${mha.params}, GQA ${gqa.params}, MQA ${mqa.params}, MLA ${mla.params}.`,
    seeds > 1
      ? `${f.preset}: validation loss over ${seeds} seeds (mean, min–max): MHA ${f3(mha.valMean)} (${f3(mha.valMin)}–${f3(mha.valMax)}), ` +
        `GQA ${f3(gqa.valMean)} (${f3(gqa.valMin)}–${f3(gqa.valMax)}), MQA ${f3(mqa.valMean)} (${f3(mqa.valMin)}–${f3(mqa.valMax)}), ` +
        `MLA ${f3(mla.valMean)} (${f3(mla.valMin)}–${f3(mla.valMax)}).`
      : `${f.preset}: validation loss (one seed): MHA ${f3(mha.valMean)}, GQA ${f3(gqa.valMean)}, MQA ${f3(mqa.valMean)}, MLA ${f3(mla.valMean)}.`,
    `${f.preset}: MLA's validation loss is ${f2(f.valRatio)}× MHA's (${seeds > 1 ? `per seed ${f2(f.valRatioMin)}–${f2(f.valRatioMax)}×` : "one seed"}): ` +
      (f.lossTargetMet ? "within the 1.1× target." : "the target of 1.1× is missed at this size."),
    `${f.preset}: decoding 8 sequences to the full context (${seeds > 1 ? "median over seeds, " : ""}CPU engine, wall-clock on a shared machine): ` +
      `MHA ${Math.round(mha.decodeTokensPerS)}, GQA ${Math.round(gqa.decodeTokensPerS)}, MQA ${Math.round(mqa.decodeTokensPerS)}, MLA ${Math.round(mla.decodeTokensPerS)} tokens/s.`,
  ];
}

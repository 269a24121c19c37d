// A reward model: the GPT trunk with its vocabulary head replaced by one number.
//
// InstructGPT's recipe: start from the SFT model (it already reads the task), drop
// the next-token head, and put a linear map dModel → 1 on the hidden state of the
// reply's LAST token: with causal attention that is the one position that has seen
// the prompt and the whole reply. Sequences of different lengths share a batch by
// right padding; the last real token never attends to the padding after it, so a
// score does not depend on how much padding its batch needed (tested).
//
// The trunk's tensor names are the GPT's own ("blocks.0.attn.wq.weight", …), so an
// SFT checkpoint loads into it as it is; the head is "score_head.weight" + ".bias".

import type { Engine, Tensor } from "../tensor/engine.js";
import { Rng } from "../tensor/random.js";
import { GPT, type GPTConfig } from "./gpt.js";
import { Linear } from "./layers.js";
import { Module } from "./module.js";

export class RewardModel extends Module {
  readonly trunk: GPT;
  readonly scoreHead: Linear;

  constructor(engine: Engine, readonly config: GPTConfig, seed: number) {
    super(engine);
    this.trunk = new GPT(engine, config, seed);
    // register the trunk's parameters under their own names (no prefix): an SFT checkpoint loads as is
    for (const p of this.trunk.parameters()) this.registry.push(p);
    // small initial scores, so the first pairs' loss is about log 2
    this.scoreHead = this.child("score_head", new Linear(engine, config.dModel, 1, new Rng(seed + 1), { bias: true, std: 0.01 }));
  }

  /**
   * ids i32 [B, T] (right-padded), lastIndex: the position of each row's last real
   * token → scores [B].
   */
  score(ids: Tensor, lastIndex: readonly number[]): Tensor {
    const e = this.engine;
    const [B, T] = ids.shape as [number, number];
    if (lastIndex.length !== B || lastIndex.some((t) => !Number.isInteger(t) || t < 0 || t >= T)) {
      throw new RangeError(`RewardModel.score: need one last-token position in 0..${T - 1} per row (${B} rows), got [${lastIndex.join(", ")}]`);
    }
    const h = this.trunk.hidden(ids); // [B·T, C]
    const rows = e.gatherRows(h, e.tensor(lastIndex.map((t, b) => b * T + t), [B], "i32"));
    return e.reshape(this.scoreHead.forward(rows), [B]);
  }

  /** scores of whole token sequences (prompt + reply), in batches, without gradients */
  async scoreSequences(seqs: readonly (readonly number[])[], batch = 64): Promise<number[]> {
    const e = this.engine;
    const out: number[] = [];
    for (let at = 0; at < seqs.length; at += batch) {
      const packed = packSequences(seqs.slice(at, at + batch));
      const r = e.scope(() => e.noGrad(() => this.score(e.tensor(packed.ids, [packed.B, packed.T], "i32"), packed.lastIndex)));
      out.push(...Array.from(await r.data()));
      r.dispose();
    }
    return out;
  }

  override dispose(): void {
    this.trunk.dispose();
    this.scoreHead.dispose();
  }
}

/** Right-pad sequences into ids [B, T] and the index of each row's last token. */
export function packSequences(seqs: readonly (readonly number[])[]): { ids: Int32Array; lastIndex: number[]; B: number; T: number } {
  const B = seqs.length;
  if (B === 0 || seqs.some((s) => s.length === 0)) throw new RangeError("packSequences: need at least one sequence, none empty");
  const T = Math.max(...seqs.map((s) => s.length));
  const ids = new Int32Array(B * T);
  const lastIndex = new Array<number>(B);
  seqs.forEach((s, b) => {
    ids.set(s, b * T);
    lastIndex[b] = s.length - 1;
  });
  return { ids, lastIndex, B, T };
}

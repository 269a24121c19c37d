#!/usr/bin/env bash
# The runs behind data/results/rlhf.json, in order (each later one reads the reward
# model or the pairs of the first), then the results file. PRESET=ci or default.
#   PRESET=default bash scripts/rlhf-runs.sh
set -euo pipefail
P=${PRESET:-ci}
R1="node bin/r1-lab.js"
SFT=data/checkpoints/sft-default
$R1 train rm --from $SFT --preset "$P" --seed 1 --backend cpu --out "runs/rm-$P"
$R1 train rlhf --from $SFT --rm "runs/rm-$P" --reward rm --preset "$P" --seed 1 --backend cpu --out "runs/rlhf-rm-$P"
$R1 train rlhf --from $SFT --rm "runs/rm-$P" --reward rules --preset "$P" --seed 1 --backend cpu --out "runs/rlhf-rules-$P"
$R1 train dpo --from $SFT --pairs "runs/rm-$P/pairs.json" --rm "runs/rm-$P" --preset "$P" --seed 1 --backend cpu --out "runs/dpo-$P"
# the RL runs again with seeds 2 and 3 (same reward model), for the spread the claims quote
if [ "$P" = default ]; then
  for s in 2 3; do
    $R1 train rlhf --from $SFT --rm "runs/rm-$P" --reward rm --preset "$P" --seed $s --backend cpu --out "runs/rlhf-rm-$P-seed$s"
    $R1 train rlhf --from $SFT --rm "runs/rm-$P" --reward rules --preset "$P" --seed $s --backend cpu --out "runs/rlhf-rules-$P-seed$s"
  done
fi
# then: node --import tsx scripts/record-results.ts rlhf --series heldout_gold_reward,heldout_proxy_reward,heldout_kl,reward,gold_reward,kl,heldout_accuracy \
#         rm-ci=runs/rm-ci … (name=dir for every run above; see data/results/rlhf.json) && node --import tsx scripts/rlhf-same-kl.ts

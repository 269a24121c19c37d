// The landing page's picture of GRPO: one group of answers to one question, each scored
// by the kit's rule verifier (src/tasks/verifier.ts) and weighed by the advantage the
// kit's GRPO code computes (src/rl/grpo.ts groupAdvantages). The answers are written by
// hand for the picture; the rewards and advantages are computed, live, by the real code.
import { accuracyReward, formatReward } from "../lib/tasks/verifier.js";
import { formatCompletion } from "../lib/tasks/template.js";
import { groupAdvantages } from "../lib/rl/grpo.js";
import { h } from "../lib/viz/dom.js";

const QUESTION = "47+38";
const EXPECTED = 85;
const ANSWERS: readonly { why: string; text: string }[] = [
  { why: "thinks, carries the 1, right", text: formatCompletion(["ones: 7 plus 8 is 15, write 5, carry 1", "tens: 4 plus 3 plus 1 is 8"], "85") },
  { why: "thinks, forgets the carry", text: formatCompletion(["ones: 7 plus 8 is 15, write 5", "tens: 4 plus 3 is 7"], "75") },
  { why: "right, but no thinking block", text: "<answer>85</answer>" },
  { why: "no tags at all", text: "85 or 75" },
];

export function grpoGroup(): HTMLElement {
  const rewards = ANSWERS.map((a) => accuracyReward(a.text, EXPECTED) + formatReward(a.text));
  const { advantages, groups } = groupAdvantages(rewards, ANSWERS.length);
  const g = groups[0]!;
  const panel = h("div", "r1-panel r1-grpo-group");
  panel.append(h("p", "r1-note",
    `One question, "${QUESTION}=", and a group of ${ANSWERS.length} answers the model might sample (written by hand for this picture). ` +
    "Each gets a reward from two rules: +1 if the answer is right, +1 if the thinking sits in <think>…</think> and the answer in <answer>…</answer>."));
  const table = h("table");
  table.style.cssText = "display:table;width:100%;table-layout:auto";
  const head = h("tr");
  for (const c of ["answer", "reward", "advantage"]) head.append(h("th", undefined, c));
  table.append(head);
  const maxAbs = Math.max(...advantages.map(Math.abs), 1e-9);
  ANSWERS.forEach((a, i) => {
    const tr = h("tr");
    const code = h("code", undefined, a.text.replace(/\n/g, " ⏎ "));
    code.style.cssText = "white-space:normal;word-break:break-word;font-size:11.5px";
    const adv = advantages[i]!;
    const bar = h("span");
    bar.style.cssText = `display:inline-block;height:10px;vertical-align:middle;margin-left:6px;width:${(40 * Math.abs(adv)) / maxAbs}px;` +
      `background:${adv >= 0 ? "var(--r1-good)" : "var(--r1-bad)"}`;
    const advCell = h("td", "num", `${adv >= 0 ? "+" : "−"}${Math.abs(adv).toFixed(2)}`);
    advCell.append(bar);
    const answerCell = h("td");
    answerCell.append(code, h("div", "r1-note", a.why));
    tr.append(answerCell, h("td", "num", String(rewards[i])), advCell);
    table.append(tr);
  });
  panel.append(table);
  panel.append(h("p", "r1-note",
    `The group's mean reward is ${g.mean.toFixed(2)} and its standard deviation ${g.std.toFixed(2)}. An answer's advantage is its reward minus the mean, ` +
    "divided by the deviation: GRPO makes every token of the answers above the mean a little more likely and those below a little less likely. " +
    "The group is the baseline — no second network has to learn what a reward \"should\" be. (Rewards by src/tasks/verifier.ts and advantages by src/rl/grpo.ts, computed as this page loaded.)"));
  panel.dataset.advantages = advantages.map((a) => a.toFixed(3)).join(",");
  return panel;
}

// How a question is put to a model, and how its reply is read.
//
// Two styles, because the two starting points of the GRPO lesson speak differently:
//
//   chat      R1's template (src/tasks/template.ts), what the cold-start SFT taught:
//               prompt  "User: 37+48-19. Assistant: "
//               reply   "<think>37+48=85\n85-19=66</think>\n<answer>66</answer>"
//   textbook  the pretraining textbook's own sentence (src/tasks/corpus.ts), which is
//             all a base model that never saw the chat template knows:
//               prompt  "To work out 37+48-19, go from left to right: "
//               reply   "37+48=85, then 85-19=66. So 37+48-19=66."
//
// DeepSeek gave R1-Zero its chat template and V3-Base could follow it, having read
// the web. Our base has read only the textbook: the tags are tokens it has never
// seen, so under the chat template it writes no <answer> and every reward is 0, and
// RL has nothing to follow (measured in data/results/grpo.json, "base_reward_rate").
// So R1-Zero here starts from the textbook's sentence, and its format rule asks for
// the textbook's shape: the worked steps, then "So <question>=<answer>." once, at the end.

import { ANSWER_CLOSE_ID, EOS_ID, SPECIAL_TOKENS, charId } from "./tokenizer.js";
import { formatPrompt } from "./template.js";
import { isWellFormatted, parseAnswer } from "./verifier.js";

export const STYLE_NAMES = ["chat", "textbook"] as const;
export type StyleName = (typeof STYLE_NAMES)[number];

export interface AnswerStyle {
  readonly name: StyleName;
  /** the text after BOS that the model continues */
  prompt(question: string): string;
  /** the answer the reply gives, trimmed, or null when it gives none (or several) */
  answer(reply: string, question: string): string | null;
  /** the reply has the style's shape: the format reward's rule */
  wellFormatted(reply: string, question: string): boolean;
  /** token ids that end a reply (the stop token is part of the reply) */
  readonly stopTokens: readonly number[];
}

export const CHAT: AnswerStyle = {
  name: "chat",
  prompt: (question) => formatPrompt(question),
  answer: (reply) => parseAnswer(reply),
  wellFormatted: (reply) => isWellFormatted(reply),
  stopTokens: [EOS_ID, ANSWER_CLOSE_ID],
};

/** The reply without the stop text a sampler may have decoded (a newline or <eos>). */
function withoutStop(reply: string): string {
  let text = reply;
  while (text.endsWith(SPECIAL_TOKENS.eos) || text.endsWith("\n")) {
    text = text.endsWith("\n") ? text.slice(0, -1) : text.slice(0, -SPECIAL_TOKENS.eos.length);
  }
  return text;
}

/** "… So 37+48-19=66." → "66": the number after the restated question, in the one closing sentence. */
function textbookAnswer(reply: string, question: string): string | null {
  const text = withoutStop(reply);
  const closing = `So ${question}=`;
  const at = text.indexOf(closing);
  if (at < 0 || text.indexOf(closing, at + 1) >= 0) return null; // none, or a second try
  const match = /^(\d+)\./.exec(text.slice(at + closing.length));
  return match ? match[1]! : null;
}

export const TEXTBOOK: AnswerStyle = {
  name: "textbook",
  prompt: (question) => `To work out ${question}, go from left to right: `,
  answer: textbookAnswer,
  // the worked steps (no special tokens), then the closing sentence, and nothing after it
  wellFormatted: (reply, question) => {
    const text = withoutStop(reply);
    const answer = textbookAnswer(text, question);
    if (answer === null || !text.endsWith(`So ${question}=${answer}.`)) return false;
    const steps = text.slice(0, text.length - `So ${question}=${answer}.`.length);
    return steps.trim() !== "" && !Object.values(SPECIAL_TOKENS).some((tag) => steps.includes(tag));
  },
  stopTokens: [EOS_ID, charId("\n")],
};

export function answerStyle(name: StyleName): AnswerStyle {
  return name === "chat" ? CHAT : TEXTBOOK;
}

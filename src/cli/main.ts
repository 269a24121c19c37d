// The r1-lab command line. Each subcommand lives in its own file.
import { UsageError } from "./args.js";
import { bench } from "./bench.js";
import { evalCommand } from "./eval.js";
import { info } from "./info.js";
import { pipeline } from "./pipeline.js";
import { sample } from "./sample.js";
import { sampleTraces } from "./sample-traces.js";
import { train } from "./train.js";

const USAGE = `usage: r1-lab <command> [flags]

commands:
  info      the WebGPU adapter, its features and limits (--json)
  train     train a stage and write its run record: train pretrain --preset ci --seed 1 --out runs/pre
            stages: pretrain, sft (--from a base), grpo (--from an SFT run for R1, or a base for R1-Zero),
            distill (--from a student base --data a sample-traces dataset [--teacher DIR --kd-alpha A]),
            rm (--from an SFT run [--pairs FILE]), rlhf (--from an SFT run --rm a reward model [--reward rm|rules]),
            dpo (--from an SFT run [--pairs FILE] [--rm DIR to score the result])
            pretrain only: --attention <mha|gqa|mqa|mla> (the presets' own is GQA), --measure-decode
            (times KV-cached decoding after training: metrics.decode_tokens_per_s)
  sample-traces  rejection sampling: a teacher's correct, well-formed replies to training prompts,
            a dataset for distillation: sample-traces --from runs/grpo --preset ci --out runs/traces
  pipeline  the whole recipe, resumable, with a report card: pipeline --preset ci --out runs/r1
            (pretrain → SFT → GRPO → rejection sampling → a student distilled, and the same
            student by its own SFT + GRPO → held-out comparison; report.md, report.json)
  eval      score a model per level, with and without thinking: eval --from DIR --levels 1-5 --k 1,4,16 --json
  sample    continue a prompt with a trained model: sample --from runs/pre --prompt "47+38="
  bench     R1 Lab vs TensorFlow.js and jax-js on this adapter: bench --quick --json out.json

common flags: --preset <ci|default> --seed N --out DIR --from CHECKPOINT --backend <auto|webgpu|cpu> --json
  train: Ctrl-C finishes the step, saves a checkpoint and exits; --resume DIR continues the run in DIR
  (the same flags as the first run), with the same losses as an uninterrupted run.
  --backend auto (the default) runs WebGPU on a GPU, and the CPU engine where there is no
  adapter or only a software one such as SwiftShader (the CPU engine is faster there).
  The CPU engine runs WebAssembly SIMD kernels; --backend cpu-reference runs the plain
  TypeScript kernels they are tested against (several times slower), to compare.

train pretrain flags: --steps N --stop-after N
  --mlp moe        DeepSeekMoE layers instead of SwiGLU, at equal active parameters
  --balance B      none | aux (balance loss) | bias (DeepSeek-V3's aux-loss-free bias; the default)
  --dispatch D     dense (every expert on every token; the default) | sparse (each expert on its own tokens)`;

type Command = (argv: string[], print: (s: string) => void) => Promise<number>;
const COMMANDS: Record<string, Command> = { info, train, eval: evalCommand, sample, "sample-traces": sampleTraces, pipeline, bench };

export async function main(argv: string[], print: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    print(USAGE);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`r1-lab: unknown command "${name}" (try: ${Object.keys(COMMANDS).join(", ")})`);
    return 2;
  }
  try {
    return await cmd(rest, print);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`r1-lab ${name}: ${e.message}`);
      return 2;
    }
    console.error(`r1-lab ${name}: ${(e as Error).message}`);
    return 1;
  }
}

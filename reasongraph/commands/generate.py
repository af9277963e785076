"""``reasongraph generate PROMPTS --out traces.jsonl``: sample traces on-policy, recording the policy's entropy."""
from __future__ import annotations

import argparse

from reasongraph.commands.options import add_model_options, add_quiet_option

EPILOG = """\
OUT gets one JSON line per sample (id "<prompt id>/s<k>", prompt_id, sample, prompt, trace, model, temperature,
top_p, seed, finish_reason, n_tokens, ...), OUT.entropy/ the token entropies of softmax(logits / T) recorded while
sampling (reasongraph.generate.load_policy_entropy reads them), and OUT.manifest.json the options. Run the same
command again after Ctrl-C or a crash to resume: the same seed gives the same samples; a rerun with other options
is refused. Score the samples with the model and settings that wrote them:
  reasongraph score OUT --prompt-field prompt --model M --temperature T --prompt-format F --out RUN
--model tiny-random[-SEED] loads a tiny random-initialized Llama (fast; for smoke tests only).
"""


def add_parser(sub: argparse._SubParsersAction, parents: tuple = (),
               formatter: type = argparse.RawDescriptionHelpFormatter) -> argparse.ArgumentParser:
    p = sub.add_parser("generate", help="sample traces from a model with its own token entropy (resumable)",
                       epilog=EPILOG, formatter_class=formatter, parents=list(parents),
                       description="Sample N traces of every prompt with the model (temperature, top-p), record "
                                   "each token's policy entropy at the sampling temperature, and write records "
                                   "that reasongraph score reads as they are.")
    p.add_argument("prompts", metavar="PROMPTS",
                   help="a .jsonl, .csv, .tsv or .parquet file, a folder saved by datasets, or a .txt file with "
                        "one prompt per line")
    p.add_argument("--out", required=True, metavar="FILE", help="the output .jsonl (rerun to resume)")
    f = p.add_argument_group("fields")
    f.add_argument("--prompt-field", default="prompt", metavar="FIELD", help="field holding the prompt")
    f.add_argument("--id-field", default="id", metavar="FIELD",
                   help="field holding the prompt id, if present (else the line number)")
    add_model_options(p, extraction=False)
    s = p.add_argument_group("sampling")
    s.add_argument("--samples", type=int, default=1, metavar="N", help="samples per prompt")
    s.add_argument("--temperature", type=float, default=1.0, metavar="T",
                   help="sample from softmax(logits / T); entropies are recorded at T")
    s.add_argument("--top-p", type=float, default=1.0, metavar="P",
                   help="nucleus sampling (1.0: off); does not enter the recorded entropy")
    s.add_argument("--max-new-tokens", type=int, default=512, metavar="N", help="longest trace")
    s.add_argument("--seed", type=int, default=0, help="seed of the sampling")
    s.add_argument("--prompt-format", choices=("raw", "chat"), default="raw",
                   help="raw: prompt tokens then the trace; chat: the tokenizer's chat template")
    s.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="samples per generate call, taken in order across prompts (default: the samples of one "
                        "prompt); on a CPU, 32-64 rows sample 2x the tokens/s of 8")
    add_quiet_option(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from reasongraph.generate import check_options, generate, read_prompts

    # Bad options and prompts fail here, before the model loads.
    check_options(samples=args.samples, temperature=args.temperature, top_p=args.top_p,
                  max_new_tokens=args.max_new_tokens, seed=args.seed, prompt_format=args.prompt_format,
                  batch_size=args.batch_size)
    prompts = read_prompts(args.prompts, prompt_field=args.prompt_field, id_field=args.id_field)
    from reasongraph.models import load_model

    lm = load_model(args.model, device=args.device, dtype=args.dtype)
    records = generate(args.prompts, model=lm, out=args.out, samples=args.samples,
                       temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                       seed=args.seed, prompt_field=args.prompt_field, id_field=args.id_field,
                       prompt_format=args.prompt_format, batch_size=args.batch_size, progress=not args.quiet)
    n_eos = sum(r["finish_reason"] == "eos" for r in records)
    print(f"{len(records)} samples of {len(prompts)} prompts in {args.out} ({n_eos} ended at EOS, "
          f"{len(records) - n_eos} at {args.max_new_tokens} tokens); token entropies in {args.out}.entropy/")
    print(f"score them with: reasongraph score {args.out} --prompt-field prompt --model {args.model} "
          f"--temperature {args.temperature:g} --prompt-format {args.prompt_format} --out RUN")
    return 0

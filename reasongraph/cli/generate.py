"""``reasongraph generate PROMPTS --out traces.jsonl``: sample traces on-policy, recording the policy's entropy."""
from __future__ import annotations

import argparse

from reasongraph.cli.shared import add_layer_options, add_model_options, add_quiet_option
from reasongraph.core.errors import InputError, opt
from reasongraph.models.sources import load_model
from reasongraph.runs.generate.options import SampleOptions
from reasongraph.runs.records.prompts import read_prompts

EPILOG = """\
OUT gets one JSON line per sample (id "<prompt id>/s<k>", prompt_id, sample, prompt, trace, model, temperature,
top_p, seed, finish_reason, n_tokens, ...), OUT.entropy/ the token entropies of softmax(logits / T) recorded while
sampling (reasongraph.load_policy_entropy reads them), OUT.manifest.json the options, and OUT.lock (held while it
writes). Run the same command again after Ctrl-C or a crash to resume: the same seed gives the same samples; a
rerun with other options is refused. Score the samples with the model and settings that wrote them:
  reasongraph score OUT --prompt-field prompt --model M --temperature T --prompt-format F --out RUN
With --score, sampling also records each token's log-prob and the --layer hidden states and writes every sample
as a trace-cache entry in --cache-dir (default OUT.traces); score with the same --layer/--segment/--keep-hidden
and --cache-dir that folder, and it runs no forward pass (samples whose text does not re-tokenize to the sampled
ids get no entry: score teacher-forces them):
  reasongraph score OUT --prompt-field prompt --model M --temperature T --prompt-format F --cache-dir OUT.traces ...
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
    SampleOptions.add_arguments(f, only=("prompt_field", "id_field"))
    add_model_options(p, extraction=False)
    s = p.add_argument_group("sampling")
    SampleOptions.add_arguments(s, only=("samples", "temperature", "top_p", "max_new_tokens", "seed", "prompt_format",
                                         "batch_size"))
    sc = p.add_argument_group("scoring while sampling")
    SampleOptions.add_arguments(sc, only=("score",))
    add_layer_options(sc)
    SampleOptions.add_arguments(sc, only=("cache_dir", "keep_hidden"))
    add_quiet_option(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from reasongraph.runs.generate.generate import generate
    from reasongraph.runs.generate.output import traces_dir

    if not args.score and args.layers is not None:  # an explicit --layer, the default one too, asks for --score
        raise InputError(f"{opt('layers')}, {opt('segment')}, {opt('cache_dir')} and {opt('keep_hidden')} apply to "
                         f"{opt('score')}")
    options = SampleOptions.from_args(args)  # bad options and prompts fail here, before the model loads
    prompts = read_prompts(args.prompts, prompt_field=options.prompt_field, id_field=options.id_field)
    lm = load_model(args.model, device=args.device, dtype=args.dtype)
    cache_dir = options.cache_dir or str(traces_dir(args.out))
    if options.score:
        options = options.replace(cache_dir=cache_dir)
    records = generate(args.prompts, model=lm, out=args.out, options=options, progress=not args.quiet)
    n_eos = sum(r["finish_reason"] == "eos" for r in records)
    n_empty = sum(r["n_tokens"] == 0 for r in records)
    print(f"{len(records)} samples of {len(prompts)} prompts in {args.out} ({n_eos} ended at EOS, {n_empty} of them "
          f"at once, {len(records) - n_eos} at {args.max_new_tokens} tokens); token entropies in {args.out}.entropy/")
    scoring = f"reasongraph score {args.out} --prompt-field prompt --model {args.model} --temperature " \
              f"{args.temperature:g} --prompt-format {args.prompt_format}"
    if args.score:
        n_recorded = sum(bool(r.get("recorded")) for r in records)
        print(f"{n_recorded} traces recorded while sampling in {cache_dir}; {len(records) - n_recorded} not (their "
              "text does not re-tokenize to the sampled ids: score teacher-forces them)")
        scoring += "".join(f" --layer {x}" for x in (args.layers or ())) + \
            (f" --segment {args.segment}" if args.segment != "newline" else "") + \
            (" --keep-hidden" if args.keep_hidden else "") + f" --cache-dir {cache_dir}"
    print(f"score them with: {scoring} --out RUN")
    return 0

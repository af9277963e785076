"""``reasongraph generate PROMPTS --out traces.jsonl``: sample traces on-policy, recording the policy's entropy."""
from __future__ import annotations

import argparse

from reasongraph.cli.shared import add_layer_options, add_model_options, add_quiet_option
from reasongraph.core.errors import InputError, opt
from reasongraph.models.sources import load_model
from reasongraph.runs.records.prompts import read_prompts

EPILOG = """\
OUT gets one JSON line per sample (id "<prompt id>/s<k>", prompt_id, sample, prompt, trace, model, temperature,
top_p, seed, finish_reason, n_tokens, ...), OUT.entropy/ the token entropies of softmax(logits / T) recorded while
sampling (reasongraph.load_policy_entropy reads them), and OUT.manifest.json the options. Run the same command
again after Ctrl-C or a crash to resume: the same seed gives the same samples; a rerun with other options is
refused. Score the samples with the model and settings that wrote them:
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
    s.add_argument("--seed", type=int, default=0,
                   help="seed of the sampling: each sample draws from its own stream, seeded by the seed, its "
                        "prompt's text and its index")
    s.add_argument("--prompt-format", choices=("raw", "chat"), default="raw",
                   help="raw: prompt tokens then the trace; chat: the tokenizer's chat template")
    s.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="samples per sampling call, taken in order across prompts (default: the samples of one "
                        "prompt); on a CPU, 32-64 rows sample 2x the tokens/s of 8; samples do not depend on it")
    sc = p.add_argument_group("scoring while sampling")
    sc.add_argument("--score", action="store_true",
                    help="record each token's log-prob and the --layer hidden states while sampling and write each "
                         "sample as the trace-cache entry score looks up (default: off)")
    add_layer_options(sc)
    sc.add_argument("--cache-dir", default=None, metavar="DIR",
                    help="with --score: the trace-cache folder to write (default OUT.traces); pass it to score as "
                         "its --cache-dir")
    sc.add_argument("--keep-hidden", action="store_true",
                    help="with --score: cache every token's hidden states too (float16), as score --keep-hidden "
                         "(default: off)")
    add_quiet_option(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from reasongraph.trace.sampling.options import check_options
    from reasongraph.runs.generate.generate import generate
    from reasongraph.runs.generate.output import traces_dir

    # Bad options and prompts fail here, before the model loads.
    check_options(samples=args.samples, temperature=args.temperature, top_p=args.top_p,
                  max_new_tokens=args.max_new_tokens, seed=args.seed, prompt_format=args.prompt_format,
                  batch_size=args.batch_size)
    layers = tuple(args.layers or (0.9,))
    if not args.score and (args.layers or args.segment != "newline" or args.cache_dir or args.keep_hidden):
        raise InputError(f"{opt('layer')}, {opt('segment')}, {opt('cache_dir')} and {opt('keep_hidden')} apply to "
                         f"{opt('score')}")
    if args.score:
        from reasongraph.runs.generate.generate import _check_score_options

        _check_score_options(layers, args.segment, args.temperature, args.prompt_format, args.keep_hidden)
    prompts = read_prompts(args.prompts, prompt_field=args.prompt_field, id_field=args.id_field)
    lm = load_model(args.model, device=args.device, dtype=args.dtype)
    cache_dir = args.cache_dir or str(traces_dir(args.out))
    records = generate(args.prompts, model=lm, out=args.out, samples=args.samples,
                       temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                       seed=args.seed, prompt_field=args.prompt_field, id_field=args.id_field,
                       prompt_format=args.prompt_format, batch_size=args.batch_size, score=args.score,
                       layers=layers, segment=args.segment, cache_dir=cache_dir, keep_hidden=args.keep_hidden,
                       progress=not args.quiet)
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

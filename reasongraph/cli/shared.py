"""Command-line options shared between commands: model and extraction, alignment, output paths, report embeds."""
from __future__ import annotations

import argparse
from typing import Any

from reasongraph.cli.formatting import positive_int, whole_number


def add_model_options(parser: argparse.ArgumentParser, *, per_group: bool = False, extraction: bool = True) -> None:
    """--model, --device, --dtype and, with ``extraction``, --layer, --segment, --prompt-format, --temperature,
    --truncate."""
    g = parser.add_argument_group("model and extraction" if extraction else "model")
    if per_group:
        g.add_argument("--model", action="append", default=None, metavar="[GROUP=]SPEC",
                       help="the model: smollm2-135m (default, offline), tiny-random, a .gguf file, a model folder or "
                            "a HF id, each optionally +ADAPTER_DIR (a peft LoRA folder); GROUP=SPEC gives the "
                            "traces of one group their own model (repeat it; a plain "
                            "SPEC then covers the other groups)")
        g.add_argument("--model-field", metavar="FIELD", default=None,
                       help="instead of --model, the field naming each record's model (default: none, --model decides)")
    else:
        g.add_argument("--model", default="smollm2-135m", metavar="SPEC",
                       help="smollm2-135m (offline), tiny-random, a .gguf file, a model folder or a HF id, each "
                            "optionally +ADAPTER_DIR (a peft LoRA folder)")
    g.add_argument("--device", default="auto", metavar="DEVICE", help="auto (cuda when present), cpu, cuda, cuda:N")
    g.add_argument("--dtype", default="auto", metavar="DTYPE",
                   help="auto (bfloat16 on cuda, float32 on cpu), float32, bfloat16, float16")
    if not extraction:
        return
    add_layer_options(g)
    g.add_argument("--prompt-format", choices=("raw", "chat"), default="raw",
                   help="raw: prompt tokens then trace tokens; chat: the tokenizer's chat template")
    g.add_argument("--temperature", type=float, default=1.0, metavar="T",
                   help="softmax temperature of the token entropies")
    g.add_argument("--truncate", action="store_true",
                   help="keep what fits the model's context instead of failing on a longer trace")


def add_layer_options(group: Any) -> None:
    """--layer (repeatable) and --segment: which hidden states a trace keeps and how its steps are cut."""
    group.add_argument("--layer", dest="layers", action="append", type=parse_layer, default=None, metavar="LAYER",
                       help="hidden-state layer: an index (0 = embeddings, -1 = last) or a depth ratio in (0, 1] "
                            "(default 0.9); repeat to capture several, the first gives the step vectors")
    group.add_argument("--segment", default="newline", metavar="SEGMENTER",
                       help="how steps are cut: newline (the paper), sentence, paragraph, window:N, token")


def add_alignment_options(group: argparse._ArgumentGroup) -> None:
    """--rho, --forking-threshold, --rule, --onset-tokens, --lookback, --n-shifts, --seed."""
    group.add_argument("--rho", type=float, default=0.2, metavar="SHARE",
                       help="share of a trace's tokens that are forking tokens")
    group.add_argument("--forking-threshold", type=float, default=None, metavar="NATS",
                       help="an absolute entropy threshold for forking tokens instead of the top --rho share "
                            "(default: none, the top --rho share)")
    group.add_argument("--rule", choices=("onset", "span"), default="onset",
                       help="when a step has an entropy spike: onset (one of its first --onset-tokens tokens "
                            "forks, so a step can have none and the revisit x spike test can tell something) or "
                            "span (any of its tokens forks: nearly always true on long steps, so the test tells "
                            "little)")
    group.add_argument("--onset-tokens", type=int, default=1, metavar="M", help="tokens of a step's onset")
    group.add_argument("--lookback", type=int, default=0, metavar="W",
                       help="tokens before a step that count for its spike (0: the step's own tokens only)")
    group.add_argument("--n-shifts", type=int, default=1000, metavar="N",
                       help="circular shifts of the span rule's permutation p-value (0: none)")
    group.add_argument("--seed", type=int, default=0, help="seed of clustering, sampling, bootstrap, permutations")


def add_embed_option(parser: Any) -> None:
    """--embed N: how many of the report's most cyclic traces to embed as interactive views."""
    parser.add_argument("--embed", type=whole_number, default=3, metavar="N",
                        help="report: embed the N most cyclic traces as interactive views, rebuilt from the run's "
                             "trace cache (0: list them only)")


def add_quiet_option(parser: Any) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress or loading messages")


def parse_layer(value: str) -> int | float:
    try:
        layer: int | float = float(value) if "." in value else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a layer is an index or a ratio such as 0.9, got {value!r}") from None
    if isinstance(layer, float) and not 0 < layer <= 1:
        raise argparse.ArgumentTypeError(f"a layer ratio must be in (0, 1], got {value}")
    return layer


def extract_options(args: argparse.Namespace) -> dict:
    """The extraction keyword arguments named by the parsed options."""
    return {"layers": tuple(args.layers or (0.9,)), "segment": args.segment, "prompt_format": args.prompt_format,
            "temperature": args.temperature, "truncate": args.truncate}


def alignment_options(args: argparse.Namespace) -> dict:
    """The alignment keyword arguments of analyze_trace / score_dataset named by the parsed options."""
    return {"rho": args.rho, "forking_threshold": args.forking_threshold, "rule": args.rule,
            "onset_tokens": args.onset_tokens, "lookback": args.lookback, "n_shifts": args.n_shifts,
            "seed": args.seed}


def model_map(values: list[str] | None) -> Any:
    """``--model`` values as score_dataset takes them: None, one spec, or {group: spec} ("*": the rest)."""
    if not values:
        return None
    from reasongraph.core.errors import InputError
    from reasongraph.runs.scoring.model_plan import DEFAULT_KEY

    specs: dict[str, str] = {}
    for value in values:
        group, sep, spec = value.partition("=")
        key, spec = (group, spec) if sep and group and not group.startswith((".", "/", "~")) else (DEFAULT_KEY,
                                                                                                    value)
        if not spec:
            raise InputError(f"--model {value!r}: expected SPEC or GROUP=SPEC")
        if key in specs:
            what = "a model for every group" if key == DEFAULT_KEY else f"a model for the group {key!r}"
            raise InputError(f"--model gives {what} twice")
        specs[key] = spec
    return specs[DEFAULT_KEY] if list(specs) == [DEFAULT_KEY] else specs


__all__ = ["add_alignment_options", "add_embed_option", "add_layer_options", "add_model_options", "add_quiet_option",
           "alignment_options", "extract_options", "model_map", "parse_layer", "positive_int", "whole_number"]

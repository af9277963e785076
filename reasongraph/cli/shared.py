"""Command-line options shared between commands: model and extraction, alignment, output paths, report embeds."""
from __future__ import annotations

import argparse
from typing import Any

from reasongraph.analysis.options import AlignOptions
from reasongraph.core.errors import InputError
from reasongraph.core.option_checks import whole_number
from reasongraph.core.options import Seeded
from reasongraph.runs.records.options import ReadOptions
from reasongraph.runs.scoring.model_plan import DEFAULT_KEY
from reasongraph.trace.options import ExtractOptions, ForkingOptions


def add_model_options(parser: argparse.ArgumentParser, *, per_group: bool = False, extraction: bool = True) -> None:
    """--model, --device, --dtype and, with ``per_group``, --model-field; with ``extraction``, the flags of
    :class:`~reasongraph.trace.options.ExtractOptions` (--layer, --segment, --prompt-format, --temperature,
    --truncate)."""
    g = parser.add_argument_group("model and extraction" if extraction else "model")
    if per_group:
        g.add_argument("--model", action="append", default=None, metavar="[GROUP=]SPEC",
                       help="the model: smollm2-135m (default, offline), tiny-random, a .gguf file, a model folder or "
                            "a HF id, each optionally +ADAPTER_DIR (a peft LoRA folder); GROUP=SPEC gives the "
                            "traces of one group their own model (repeat it; a plain "
                            "SPEC then covers the other groups)")
        ReadOptions.add_arguments(g, only=("model_field",))
    else:
        g.add_argument("--model", default="smollm2-135m", metavar="SPEC",
                       help="smollm2-135m (offline), tiny-random, a .gguf file, a model folder or a HF id, each "
                            "optionally +ADAPTER_DIR (a peft LoRA folder)")
    g.add_argument("--device", default="auto", metavar="DEVICE", help="auto (cuda when present), cpu, cuda, cuda:N")
    g.add_argument("--dtype", default="auto", metavar="DTYPE",
                   help="auto (bfloat16 on cuda, float32 on cpu), float32, bfloat16, float16")
    if extraction:
        ExtractOptions.add_arguments(g)


def add_layer_options(group: Any) -> None:
    """--layer (repeatable) and --segment: which hidden states a trace keeps and how its steps are cut."""
    ExtractOptions.add_arguments(group, only=("layers", "segment"))


def add_alignment_options(group: Any) -> None:
    """--rho, --forking-threshold, --rule, --onset-tokens, --lookback, --n-shifts, --seed."""
    for cls in (ForkingOptions, AlignOptions, Seeded):
        cls.add_arguments(group)


def add_embed_option(parser: Any) -> None:
    """--embed N: how many of the report's most cyclic traces to embed as interactive views."""
    parser.add_argument("--embed", type=whole_number, default=3, metavar="N",
                        help="report: embed the N most cyclic traces as interactive views, rebuilt from the run's "
                             "trace cache (0: list them only)")


def add_quiet_option(parser: Any) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress or loading messages")


def model_map(values: list[str] | None) -> Any:
    """``--model`` values as score_dataset takes them: None, one spec, or {group: spec} ("*": the rest)."""
    if not values:
        return None
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
           "model_map"]

"""The options of on-policy sampling (:func:`reasongraph.runs.generate`, ``reasongraph generate``): one definition
each, checked before a model loads.

Light (the command line builds its parser from :class:`SampleOptions`): no numpy; numbers are recognized through
:mod:`numbers`, where numpy registers its scalars.
"""
from __future__ import annotations

import argparse
import dataclasses
import numbers
import os
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.option_checks import Check, Choice, Flag, Int, Number, Optional, Text
from reasongraph.core.options import Options, derived, option
from reasongraph.trace.segmenters import validate_segmenter

__all__ = ["LAYER_HELP", "Layers", "PathOrNone", "PromptFormat", "SEGMENT_HELP", "SampleOptions", "Segmenter",
           "Whole", "given_options", "layer_specs", "parse_layer"]


# ---- checks of the extraction options sampling shares (ExtractOptions' once trace/options.py defines them) ------
class Layers(Check):
    """A layer or a sequence of layers: each an int index or a float depth ratio in (0, 1], none twice
    (``single``: one layer, not a sequence)."""

    def __init__(self, *, single: bool = False) -> None:
        self.single = single

    def __call__(self, name: str, value: Any) -> Any:
        if self.single:
            specs: tuple = (value,)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            specs = (value,)
        else:
            try:
                if isinstance(value, (str, bytes)):
                    raise TypeError
                specs = tuple(value)
            except TypeError:
                raise InputError(f"{opt(name)} must be a layer or a list of layers, got {value!r}") from None
        for spec in specs:
            if isinstance(spec, bool) or not isinstance(spec, numbers.Real):
                raise InputError(f"{opt(name)}: a layer is an int index or a float ratio, got {spec!r}")
            if not isinstance(spec, numbers.Integral) and not 0.0 < spec <= 1.0:
                raise InputError(f"{opt(name)}: a layer ratio is a share of the depth in (0, 1], got {spec}")
        if len(set(specs)) < len(specs):
            raise InputError(f"{opt(name)} names a layer twice: {list(specs)}")
        return value

    def describe(self) -> str:
        one = "an int index or a float depth ratio in (0, 1]"
        return one if self.single else f"a layer or a list of layers, each {one}, none twice"


class Segmenter(Check):
    """A registered segmenter name or ``window:N`` (N > 0)."""

    def __call__(self, name: str, value: Any) -> Any:
        validate_segmenter(value)
        return value

    def describe(self) -> str:
        return "a segmenter: newline, sentence, paragraph, window:N, token or a registered name"


class Whole(Int):
    """A whole number >= ``low``, worded as sampling has always worded it ("a whole number >= 1")."""

    def __init__(self, low: int) -> None:
        super().__init__(low=low)

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < self.low:
            raise InputError(f"{opt(name)} must be a whole number >= {self.low}, got {value!r}")
        return value


class _TopP(Number):
    """A nucleus share in (0, 1]."""

    def __init__(self) -> None:
        super().__init__(0, 1, low_open=True)

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
            raise InputError(f"{opt(name)} must be in (0, 1], got {value!r}")
        return value


class PromptFormat(Choice):
    """raw or chat, worded as sampling has always worded it."""

    def __init__(self) -> None:
        super().__init__("raw", "chat")

    def __call__(self, name: str, value: Any) -> Any:
        if value not in self.choices:
            raise InputError(f"{opt(name)} must be 'raw' or 'chat', got {value!r}")
        return value


def parse_layer(value: str) -> int | float:
    """An argparse type: a layer index ("-1") or a depth ratio in (0, 1] ("0.9")."""
    try:
        layer: int | float = float(value) if "." in value else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a layer is an index or a ratio such as 0.9, got {value!r}") from None
    if isinstance(layer, float) and not 0 < layer <= 1:
        raise argparse.ArgumentTypeError(f"a layer ratio must be in (0, 1], got {value}")
    return layer


class PathOrNone(Check):
    """None, a path string or an os.PathLike (the folder is checked where it is written)."""

    def __call__(self, name: str, value: Any) -> Any:
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise InputError(f"{opt(name)} must be a path, got {value!r}")
        return value

    def describe(self) -> str:
        return "None or a path"


#: The help of ``--layer`` and ``--segment`` as ``reasongraph score`` words them (cli/shared.add_layer_options).
LAYER_HELP = ("hidden-state layer: an index (0 = embeddings, -1 = last) or a depth ratio in (0, 1] (default 0.9); "
              "repeat to capture several, the first gives the step vectors")
SEGMENT_HELP = "how steps are cut: newline (the paper), sentence, paragraph, window:N, token"


# ---- the sampling options ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SampleOptions(Options):
    """What :func:`~reasongraph.runs.generate` samples and how (``reasongraph generate``); the ``fields`` and
    ``sampling`` sections go into the generate manifest (with the scoring part from the trace writer)."""

    prompt_field: str = option("prompt", check=Text(), help="field holding the prompt", metavar="FIELD",
                               section="fields")
    id_field: str | None = option("id", check=Optional(Text()), metavar="FIELD", section="fields",
                                  help="field holding the prompt id, if present (else the line number)")
    samples: int = option(1, check=Whole(1), help="samples per prompt", metavar="N", to_identity=int,
                          section="sampling")
    temperature: float = option(1.0, check=Number(low=0, low_open=True), metavar="T", to_identity=float,
                                section="sampling", help="sample from softmax(logits / T); entropies are recorded at T")
    top_p: float = option(1.0, check=_TopP(), metavar="P", to_identity=float, section="sampling",
                          help="nucleus sampling (1.0: off); does not enter the recorded entropy")
    max_new_tokens: int = option(512, check=Whole(1), help="longest trace", metavar="N", to_identity=int,
                                 section="sampling")
    seed: int = derived("seed", check=Whole(0), to_identity=int, section="sampling",
                         help="seed of the sampling: each sample draws from its own stream, seeded by the seed, its "
                             "prompt's text and its index")
    prompt_format: str = option("raw", check=PromptFormat(), section="sampling",
                                help="raw: prompt tokens then the trace; chat: the tokenizer's chat template")
    batch_size: int | None = option(None, check=Optional(Whole(1)), metavar="N", section="sampling",
                                    help="samples per sampling call, taken in order across prompts (default: the "
                                         "samples of one prompt); on a CPU, 32-64 rows sample 2x the tokens/s of 8; "
                                         "samples do not depend on it")
    score: bool = option(False, check=Flag(), identity=False,
                         help="record each token's log-prob and the --layer hidden states while sampling and write "
                              "each sample as the trace-cache entry score looks up (default: off)")
    layers: Any = option((0.9,), check=Layers(), help=LAYER_HELP, flag="--layer", metavar="LAYER", repeat=True,
                         identity=False)
    segment: str = option("newline", check=Segmenter(), help=SEGMENT_HELP, metavar="SEGMENTER", identity=False)
    cache_dir: str | os.PathLike | None = option(None, check=PathOrNone(), metavar="DIR", identity=False,
                                                 help="with --score: the trace-cache folder to write (default "
                                                      "OUT.traces); pass it to score as its --cache-dir")
    keep_hidden: bool = option(False, check=Flag(), identity=False,
                               help="with --score: cache every token's hidden states too (float16), as score "
                                    "--keep-hidden (default: off)")

    def validate(self) -> None:
        if not self.score:
            if layer_specs(self.layers) != (0.9,) or self.segment != "newline" or self.cache_dir is not None \
                    or self.keep_hidden:
                raise InputError(f"{opt('layers')}, {opt('segment')}, {opt('cache_dir')} and {opt('keep_hidden')} "
                                 f"apply to {opt('score')}")
            return
        specs = layer_specs(self.layers)
        if not specs or any(isinstance(x, numbers.Integral) and x < 0 for x in specs):
            raise InputError(f"{opt('layers')}: score records at least one layer, as indices >= 0 or depth ratios "
                             f"(as score takes them), got {list(specs)}")


def given_options(cls: type, options: Any, keywords: dict) -> Any:
    """An entry point's options: ``options`` (an instance of ``cls``, already checked) or ``keywords`` checked into
    one (an unknown keyword: TypeError, as Python's own); both at once: InputError."""
    if options is None:
        return cls.checked(**keywords)
    if not isinstance(options, cls):
        raise InputError(f"{opt('options')} must be a {cls.__name__}, got {type(options).__name__}")
    if keywords:
        raise InputError(f"give {', '.join(sorted(keywords))} inside {opt('options')} or as keywords, not both")
    return options


def layer_specs(layers: Any) -> tuple:
    """``layers`` (one layer or a sequence, already checked) as a tuple of layer specs."""
    return (layers,) if isinstance(layers, numbers.Real) and not isinstance(layers, bool) else tuple(layers)

"""The options of extraction (:class:`ExtractOptions`) and of forking tokens (:class:`ForkingOptions`), each defined
once (:mod:`reasongraph.core.options`) and checked before a model loads; the prompt formats. Light: the command line
builds its flags from here."""
from __future__ import annotations

import argparse
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import Check, Choice, Flag, Number, Optional, Options, option
from reasongraph.trace.segmenters import validate_segmenter

if TYPE_CHECKING:
    from reasongraph.trace.extraction.layers import LayerSpec

__all__ = ["DEFAULT_LAYERS", "PROMPT_FORMATS", "ExtractOptions", "ForkingOptions", "Layers", "Segmenter",
           "check_extract_options", "parse_layer"]

PROMPT_FORMATS = ("raw", "chat")
#: The default capture: the layer at 0.9 of the depth.
DEFAULT_LAYERS = (0.9,)


def parse_layer(value: str) -> int | float:
    """An argparse type: a layer index or a depth ratio in (0, 1]."""
    try:
        layer: int | float = float(value) if "." in value else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a layer is an index or a ratio such as 0.9, got {value!r}") from None
    if isinstance(layer, float) and not 0 < layer <= 1:
        raise argparse.ArgumentTypeError(f"a layer ratio must be in (0, 1], got {value}")
    return layer


class Layers(Check):
    """A layer or a sequence of layers (kept as a tuple of the specs given): each an int index or a float depth
    ratio in (0, 1], none twice (``single``: one layer, kept as given)."""

    arg_type = staticmethod(parse_layer)

    def __init__(self, *, single: bool = False) -> None:
        self.single = single

    def __call__(self, name: str, value: Any) -> Any:
        try:
            if isinstance(value, (str, bytes)) and not self.single:
                raise TypeError
            specs = (value,) if self.single or isinstance(value, numbers.Real) else tuple(value)
        except TypeError:
            raise InputError(f"{opt(name)} must be a layer or a list of layers, got {value!r}") from None
        for spec in specs:
            if isinstance(spec, bool) or not isinstance(spec, numbers.Real):
                raise InputError(f"{opt(name)}: a layer is an int index or a float ratio, got {spec!r}")
            if not isinstance(spec, numbers.Integral) and not 0.0 < spec <= 1.0:
                raise InputError(f"{opt(name)}: a layer ratio is a share of the depth in (0, 1], got {spec}")
        if len(set(specs)) < len(specs):
            raise InputError(f"{opt(name)} names a layer twice: {list(specs)}")
        return value if self.single else specs

    def describe(self) -> str:
        one = "an int index or a float depth ratio in (0, 1]"
        return one if self.single else "layers: int indices or depth ratios in (0, 1], none twice"


class Segmenter(Check):
    """A registered segmenter's name, or window:N."""

    def __call__(self, name: str, value: Any) -> Any:
        return validate_segmenter(value)

    def describe(self) -> str:
        return "a segmenter: newline, sentence, paragraph, window:N, token or a registered name"


#: Defaults of options defined in higher layers (RunOptions, SampleOptions) that functions of this layer also take:
#: the options use these constants, so each default is written once.
KEEP_HIDDEN = False  # keep every token's hidden states in the trace cache (RunOptions/SampleOptions.keep_hidden)
TOP_P = 1.0  # nucleus sampling off (SampleOptions.top_p)
MAX_NEW_TOKENS = 512  # the longest sampled trace (SampleOptions.max_new_tokens)


@dataclass(frozen=True)
class ExtractOptions(Options):
    """How a trace is extracted: which hidden states it keeps, how its steps are cut, its prompt and entropies."""

    layers: tuple = option(DEFAULT_LAYERS, check=Layers(), flag="--layer", metavar="LAYER", repeat=True,
                           help="hidden-state layer: an index (0 = embeddings, -1 = last) or a depth ratio in (0, 1] "
                                "(default 0.9); repeat to capture several, the first gives the step vectors")
    segment: str = option("newline", check=Segmenter(), metavar="SEGMENTER",
                          help="how steps are cut: newline (the paper), sentence, paragraph, window:N, token")
    prompt_format: str = option("raw", check=Choice(*PROMPT_FORMATS),
                                help="raw: prompt tokens then trace tokens; chat: the tokenizer's chat template")
    temperature: float = option(1.0, check=Number(low=0, low_open=True), metavar="T", to_identity=float,
                                help="softmax temperature of the token entropies")
    truncate: bool = option(False, check=Flag(),
                            help="keep what fits the model's context instead of failing on a longer trace")


#: The order in which extraction's options were checked before the classes (the first bad one is reported).
_CHECK_ORDER = ("segment", "temperature", "prompt_format", "truncate", "layers")


def check_extract_options(*, layers: Sequence[LayerSpec] = ExtractOptions.layers,
                          segment: str = ExtractOptions.segment, temperature: float = ExtractOptions.temperature,
                          prompt_format: str = ExtractOptions.prompt_format,
                          truncate: bool = ExtractOptions.truncate) -> None:
    """Raise InputError for the first extraction option out of range: each is checked before a model loads."""
    given = {"layers": layers, "segment": segment, "temperature": temperature, "prompt_format": prompt_format,
             "truncate": truncate}
    fields = ExtractOptions.__dataclass_fields__
    for name in _CHECK_ORDER:
        fields[name].metadata["option"].check(name, given[name])


@dataclass(frozen=True)
class ForkingOptions(Options):
    """Which tokens are forking tokens: the top ``rho`` share of a trace's token entropies, or those above an
    absolute threshold."""

    rho: float = option(0.2, check=Number(0, 1, low_open=True, high_open=True), metavar="SHARE",
                        help="share of a trace's tokens that are forking tokens")
    forking_threshold: float | None = option(None, check=Optional(Number(low=0)), metavar="NATS",
                                             help="an absolute entropy threshold for forking tokens instead of the "
                                                  "top --rho share (default: none, the top --rho share)")

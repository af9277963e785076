"""The options of on-policy sampling (:func:`reasongraph.runs.generate.generate.generate`, ``reasongraph
generate``): checked before a model loads. Each is defined once: the fields of the input and the trace cache's
derive from :class:`~reasongraph.runs.records.options.ReadOptions` and
:class:`~reasongraph.runs.scoring.options.RunOptions`, the extraction's from
:class:`~reasongraph.trace.options.ExtractOptions`.

Light (the command line builds its parser from :class:`SampleOptions`): no numpy; numbers are recognized through
:mod:`numbers`, where numpy registers its scalars.
"""
from __future__ import annotations

import dataclasses
import numbers
import os
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.option_checks import Choice, Flag, Number, Optional, PathOrNone, Text, Whole
from reasongraph.core.options import Options, derived, option
from reasongraph.runs.records.options import ReadOptions  # noqa: F401 (prompt_field, id_field derive from it)
from reasongraph.runs.scoring.options import RunOptions  # noqa: F401 (cache_dir, keep_hidden derive from it)
from reasongraph.trace.options import DEFAULT_LAYERS, MAX_NEW_TOKENS, TOP_P, ExtractOptions  # layers...: derived

__all__ = ["PromptFormat", "SampleOptions", "layer_specs"]


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


@dataclasses.dataclass(frozen=True)
class SampleOptions(Options):
    """What :func:`~reasongraph.runs.generate.generate.generate` samples and how (``reasongraph generate``); the
    ``fields`` and ``sampling`` sections go into the generate manifest (with the scoring part from the trace
    writer)."""

    prompt_field: str = derived("ReadOptions.prompt_field", default="prompt", check=Text(),
                                help="field holding the prompt", section="fields")
    id_field: str | None = derived("ReadOptions.id_field", check=Optional(Text()), section="fields",
                                   help="field holding the prompt id, if present (else the line number)")
    samples: int = option(1, check=Whole(1), help="samples per prompt", metavar="N", to_identity=int,
                          section="sampling")
    temperature: float = derived("ExtractOptions.temperature", section="sampling",
                                 help="sample from softmax(logits / T); entropies are recorded at T")
    top_p: float = option(TOP_P, check=_TopP(), metavar="P", to_identity=float, section="sampling",
                          help="nucleus sampling (1.0: off); does not enter the recorded entropy")
    max_new_tokens: int = option(MAX_NEW_TOKENS, check=Whole(1), help="longest trace", metavar="N", to_identity=int,
                                 section="sampling")
    seed: int = derived("seed", check=Whole(0), to_identity=int, section="sampling",
                        help="seed of the sampling: each sample draws from its own stream, seeded by the seed, its "
                             "prompt's text and its index")
    prompt_format: str = derived("ExtractOptions.prompt_format", check=PromptFormat(), section="sampling",
                                 help="raw: prompt tokens then the trace; chat: the tokenizer's chat template")
    batch_size: int | None = option(None, check=Optional(Whole(1)), metavar="N", section="sampling",
                                    help="samples per sampling call, taken in order across prompts (default: the "
                                         "samples of one prompt); on a CPU, 32-64 rows sample 2x the tokens/s of 8; "
                                         "samples do not depend on it")
    score: bool = option(False, check=Flag(), identity=False,
                         help="record each token's log-prob and the --layer hidden states while sampling and write "
                              "each sample as the trace-cache entry score looks up (default: off)")
    layers: Any = derived("ExtractOptions.layers", identity=False)
    segment: str = derived("ExtractOptions.segment", identity=False)
    cache_dir: str | os.PathLike | None = derived("RunOptions.cache_dir", check=PathOrNone(),
                                                  help="with --score: the trace-cache folder to write (default "
                                                       "OUT.traces); pass it to score as its --cache-dir")
    keep_hidden: bool = derived("RunOptions.keep_hidden", identity=False,
                                help="with --score: cache every token's hidden states too (float16), as score "
                                     "--keep-hidden (default: off)")

    def validate(self) -> None:
        if not self.score:
            if layer_specs(self.layers) != DEFAULT_LAYERS or self.segment != ExtractOptions.segment \
                    or self.cache_dir is not None \
                    or self.keep_hidden:
                raise InputError(f"{opt('layers')}, {opt('segment')}, {opt('cache_dir')} and {opt('keep_hidden')} "
                                 f"apply to {opt('score')}")
            return
        specs = layer_specs(self.layers)
        if not specs or any(isinstance(x, numbers.Integral) and x < 0 for x in specs):
            raise InputError(f"{opt('layers')}: score records at least one layer, as indices >= 0 or depth ratios "
                             f"(as score takes them), got {list(specs)}")


def layer_specs(layers: Any) -> tuple:
    """``layers`` (one layer or a sequence, already checked) as a tuple of layer specs."""
    return (layers,) if isinstance(layers, numbers.Real) and not isinstance(layers, bool) else tuple(layers)

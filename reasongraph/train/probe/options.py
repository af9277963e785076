"""The options of :class:`reasongraph.train.probe.probe.ExplorationProbe` (and so of ``ExplorationCallback`` and
``reasongraph sweep``), each defined once; the fields of :meth:`ExplorationProbe.options` in their order there.

Light: the command line builds its parser from :class:`ProbeOptions` (no numpy).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.option_checks import Check, Choice, Int, Optional, Text, positive_int
from reasongraph.core.options import Options, derived, option
from reasongraph.graph.cluster.options import ClusterOptions  # noqa: F401 (k derives from it)
from reasongraph.runs.generate.options import SampleOptions  # noqa: F401 (the sampling options derive from it)
from reasongraph.trace.options import ForkingOptions, Layers, parse_layer  # noqa: F401 (rho derives from it)

__all__ = ["SCORING", "ProbeOptions"]

#: How a probe scores its samples: from the sampling pass, or by a teacher-forced pass over their texts.
SCORING = ("sampling", "teacher_forced")


class _IntOrAuto(Check):
    """"auto", or a whole number >= 1 (a clustering's K)."""

    def __call__(self, name: str, value: Any) -> Any:
        if value == "auto":
            return value
        if isinstance(value, str):
            raise InputError(f"{opt(name)} must be a whole number or auto, got {value!r}")
        return Int(low=1)(name, value)

    def describe(self) -> str:
        return "auto or whole number >= 1"


def _int_or_text(value: str) -> int | str:
    """The --k flag's type: an int where it reads as one, else the text (checked as "auto" or refused)."""
    try:
        return int(value)
    except ValueError:
        return value


#: The probe's identity is its options() dict, as given (not generate's manifest sections and conversions).
_NOT_A_SECTION = {"section": None, "to_identity": None}


@dataclasses.dataclass(frozen=True)
class ProbeOptions(Options):
    """How a probe set is sampled and scored: what makes two measurements comparable."""

    samples: int = derived("SampleOptions.samples", default=4, **_NOT_A_SECTION)
    temperature: float = derived("SampleOptions.temperature", help="sampling and scoring temperature", **_NOT_A_SECTION)
    max_new_tokens: int = derived("SampleOptions.max_new_tokens", default=256, help="longest sample, in tokens",
                                  **_NOT_A_SECTION)
    seed: int = derived("SampleOptions.seed", help="seed of the sampling", **_NOT_A_SECTION)
    prompt_format: str = derived("SampleOptions.prompt_format", **_NOT_A_SECTION,
                                 help="raw: prompt tokens then the sample; chat: the tokenizer's chat template")
    prompt_field: str = derived("SampleOptions.prompt_field", identity=False, section=None)
    id_field: str | None = derived("SampleOptions.id_field", help="field holding the prompt id, if present",
                                   identity=False, section=None)
    layer: int | float = option(0.9, check=Layers(single=True), parse=parse_layer, metavar="LAYER",
                                help="hidden-state layer: an index or a depth ratio in (0, 1]")
    segment: str = derived("SampleOptions.segment", identity=True,
                           help="how samples are cut into steps: newline, sentence, paragraph, window:N, token")
    k: int | str = derived("ClusterOptions.k", check=_IntOrAuto(), parse=_int_or_text, metavar="K",
                           help="clusters of the reference clustering, or auto (a third of its steps, at most 200)")
    rho: float = derived("ForkingOptions.rho", cli=False, metavar=None,
                         help="the reference's forking share: its pooled top-rho entropy threshold defines "
                              "forking_share_ref")
    window: int = option(128, check=Int(low=2),  # science.md's W (trace.hidden's WINDOW)
                         help="tokens per window of erank_window", metavar="W")
    stride: int = option(40, check=Int(low=1), help="stride of ERV", metavar="S")
    answers: Any = option(None, check=Check(), cli=False, to_identity=lambda answers: answers is not None,
                          help="reference answers, one per prompt, for accuracy")
    answer_field: str | None = option(None, check=Optional(Text()), metavar="FIELD", identity=False,
                                      help="field of the prompts file holding the reference answer (gives the "
                                           "accuracy column; default: none, no accuracy)")
    batch_size: int | None = derived("SampleOptions.batch_size", parse=positive_int, section=None, identity=False,
                                     help="sequences per scoring forward pass (default: about 4096 tokens)")
    scoring: str = option("sampling", check=Choice(*SCORING), cli=False,
                          help="sampling (score each sample from its sampling pass) or teacher_forced (run the model "
                               "again over every sampled text); the numbers agree to float rounding")

    def validate(self) -> None:
        if self.answers is not None and self.answer_field is not None:
            raise InputError(f"give reference answers as {opt('answers')} or {opt('answer_field')}, not both")

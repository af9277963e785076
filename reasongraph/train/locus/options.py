"""The options of :func:`reasongraph.train.locus.locus.locus` (``reasongraph locus``), each defined once: its
default, check, flag and help; the fields that go into locus.json's ``"options"`` in their order there.

Light: the command line builds its parser from :class:`LocusOptions` (no numpy).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from reasongraph.core.option_checks import Choice, Flag, Int, Optional, PathOrNone, Text, positive_int
from reasongraph.core.options import Options, derived, option
from reasongraph.runs.records.options import ReadOptions  # noqa: F401 (the fields and limit derive from it)
from reasongraph.trace.options import ExtractOptions  # noqa: F401 (the extraction options derive from it)

__all__ = ["LocusOptions"]


@dataclasses.dataclass(frozen=True)
class LocusOptions(Options):
    """How locus reads its texts, extracts them and samples the layers; the run's scratch folder."""

    text_field: str = derived("ReadOptions.text_field", check=Text(), help="field holding the text", identity=False)
    prompt_field: str | None = derived("ReadOptions.prompt_field", check=Optional(Text()), identity=False,
                                       help="field holding the prompt (default: none, each text alone)")
    id_field: str | None = derived("ReadOptions.id_field", check=Optional(Text()), identity=False)
    group_field: str | None = derived("ReadOptions.group_field", check=Optional(Text()), identity=False,
                                      help="field naming each text's group, reported on its own (default: none, one "
                                           "group)")
    limit: int | None = derived("ReadOptions.limit", check=Optional(Int(low=0)), identity=False,
                                help="read at most N records per source (default: all)")
    prompt_format: str | None = derived("ExtractOptions.prompt_format", default=None,
                                        check=Optional(Choice("raw", "chat")),
                                        help="raw or chat (default: the run folders' own, else raw)")
    temperature: float = derived("ExtractOptions.temperature", to_identity=None,
                                 help="softmax temperature of entropies")
    truncate: bool = derived("ExtractOptions.truncate", help="keep what fits the context instead of failing")
    segment: str = derived("ExtractOptions.segment", help="steps, for the onsets")
    layer_stride: int = option(1, check=Int(low=1), parse=positive_int, metavar="S",
                               help="lens and similarities at every S-th layer and the last")
    patch_stride: int = option(5, check=Int(low=1), parse=positive_int, metavar="S",
                               help="patching splits at every S-th layer and the last (the head swap)")
    max_tokens: int = option(4096, check=Int(low=2), parse=positive_int, metavar="N",
                             help="seeded sample of tokens for the lens, the similarities and the temperature fit")
    k: int = option(10, check=Int(low=1), parse=positive_int, help="neighbours of the k-NN overlap")
    seed: int = derived("seed", check=Int(low=0), help="seed of the token sample and the bootstraps")
    n_boot: int = derived("n_boot", help="bootstrap resamples over texts")
    ci: float = derived("ci", cli=False)
    states_dir: Any = option(None, check=PathOrNone(), metavar="DIR", identity=False,
                             help="where the layer states go while the run lasts (default: DIR/states, else a "
                                  "temporary folder)")
    keep_states: bool = option(False, check=Flag(), identity=False, help="keep the layer states after the run")

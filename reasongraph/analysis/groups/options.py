"""The options of a comparison of two groups (:func:`~reasongraph.analysis.groups.comparison.compare_groups`,
:func:`~reasongraph.analysis.groups.level_collapse.collapse_table`, ``reasongraph compare``), each defined once.

Light: the command line builds its parser from :class:`CompareOptions` (no numpy).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.option_checks import Check, Int, Optional, Text
from reasongraph.core.options import Options, derived, option

__all__ = ["MAX_BOOT", "CompareOptions"]

#: The most bootstrap resamples: each costs memory in proportion to the pairs, and 10^6 resolve any CI.
MAX_BOOT = 1_000_000


class _FieldNames(Check):
    """None, or a list of row field names."""

    def __call__(self, name: str, value: Any) -> Any:
        if value is not None and (isinstance(value, (str, bytes)) or not isinstance(value, Iterable)):
            raise InputError(f"{opt(name)} must be a list of field names, got {value!r}")
        return value

    def describe(self) -> str:
        return "None or a list of field names"


@dataclasses.dataclass(frozen=True)
class CompareOptions(Options):
    """Which rows are compared, paired how, on which metrics, with which bootstrap. The command line's
    --group-by and --pair-by default to the run's own fields (resolved before the options are checked)."""

    control: str | None = option(None, check=Optional(Text()), metavar="GROUP",
                                 help="a control group C of known collapse (e.g. the base at a low temperature, or "
                                      "one-template samples): each collapse is also given as (A - B) / (A - C), the "
                                      "share of C's range (default: none)")
    group_field: str = option("group", check=Text(), flag="--group-by", metavar="FIELD", cli_default=None,
                              help="the grouping field (default: the run's --group-by)")
    pair_field: str | None = option("pair", check=Optional(Text()), flag="--pair-by", aliases=("--pair-key",),
                                    metavar="FIELD", cli_default=None,
                                    help="the pairing field (default: the run's --pair-by); without one, groups are "
                                         "compared unpaired")
    metrics: Any = option(None, check=_FieldNames(), flag="--metric", repeat=True, metavar="FIELD",
                          help="a row field to compare (repeat it; default: the catalogue's compare set)")
    n_boot: int = derived("n_boot", check=Int(low=1, high=MAX_BOOT))
    ci: float = derived("ci", cli=False)
    seed: int = derived("seed", help="bootstrap seed")

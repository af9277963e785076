"""The options of :func:`reasongraph.train.sweep.sweep` beside its probe's (:class:`~reasongraph.train.probe.
options.ProbeOptions`), each defined once; they go into summary.json's ``"options"`` in their order there.

Light: the command line builds its parser from :class:`SweepOptions` (no numpy).
"""
from __future__ import annotations

import dataclasses
import numbers
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.option_checks import Check, Number, Whole
from reasongraph.core.options import Options, derived, option

__all__ = ["SweepOptions"]


class _FieldName(Check):
    def __call__(self, name: str, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not value):
            raise InputError(f"{opt(name)} must name a logged field, got {value!r}")
        return value

    def describe(self) -> str:
        return "None or a field name"


class _Level(Number):
    """An interval level in (0, 1), worded as the sweep has always worded it."""

    def __init__(self) -> None:
        super().__init__(0, 1, low_open=True, high_open=True)

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise InputError(f"{opt(name)} must be in (0, 1), got {value!r}")
        return value


@dataclasses.dataclass(frozen=True)
class SweepOptions(Options):
    """What a sweep adds to its probe: the reward column, the bootstrap, the report's title."""

    reward_field: str | None = option(None, check=_FieldName(), metavar="FIELD",
                                      help="a numeric field the trainer logged, read from each checkpoint's "
                                           "trainer_state.json (default: none)")
    n_boot: int = derived("n_boot", check=Whole(1), parse=int, help="bootstrap resamples of the collapse")
    ci: float = derived("ci", check=_Level(), cli=False)
    title: str | None = derived("title", help="the report's title (default: Exploration over training checkpoints)")

"""The checks of option values (:mod:`reasongraph.core.options`), each one InputError naming the option in the
caller's words, and the argparse types of their flags. Light: no numpy (numbers through :mod:`numbers`)."""
from __future__ import annotations

import argparse
import math
import numbers
import os
from collections.abc import Callable, Iterable
from typing import Any

from reasongraph.core.checks import MAX_SEED
from reasongraph.core.errors import InputError, opt

__all__ = ["Check", "Choice", "Each", "Flag", "Int", "IntOrAuto", "Number", "Optional", "OptionalInt", "PathOrNone",
           "Seed", "Text", "Whole", "k_or_auto", "positive_int", "whole_number"]


# ---- argparse types --------------------------------------------------------------------------------------------

def whole_number(value: str) -> int:
    """An argparse type: an int >= 0."""
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value!r}")
    return n


def positive_int(value: str) -> int:
    """An argparse type: an int >= 1."""
    n = whole_number(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return n


# ---- checks ----------------------------------------------------------------------------------------------------

class Check:
    """A check of one option's value: ``check(name, value)`` returns the value to keep or raises InputError."""

    arg_type: Callable[[str], Any] | None = None   # the argparse type of its flag (None: a str)

    def __call__(self, name: str, value: Any) -> Any:
        return value

    @property
    def choices(self) -> tuple | None:
        return None

    def describe(self) -> str:
        return "any"


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f">= {low}" if low is not None else f"<= {high}"


class Int(Check):
    """A whole number within [low, high]."""

    arg_type = int

    def __init__(self, low: int | None = None, high: int | None = None) -> None:
        self.low, self.high = low, high

    def __call__(self, name: str, value: Any) -> Any:
        if not _is_int(value):
            raise InputError(f"{opt(name)} must be a whole number, got {value!r}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise InputError(f"{opt(name)} must be {_range(self.low, self.high)}, got {value}")
        return value

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "whole number"
        return f"whole number {_range(self.low, self.high)}"


class Seed(Int):
    """A seed: a whole number in [0, 2**32 - 1] (numpy's legacy generators and scikit-learn take no larger)."""

    def __init__(self) -> None:
        super().__init__(0, MAX_SEED)

    def describe(self) -> str:
        return "seed: whole number in [0, 2**32 - 1]"


class Number(Check):
    """A finite number within the bounds (open bounds exclude themselves)."""

    arg_type = float

    def __init__(self, low: float | None = None, high: float | None = None, *, low_open: bool = False,
                 high_open: bool = False) -> None:
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open

    def _bounds(self) -> str:
        lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        hi = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        return " and ".join(b for b in (lo, hi) if b)

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputError(f"{opt(name)} must be a number, got {value!r}")
        x = float(value)
        bad = (not math.isfinite(x)
               or (self.low is not None and (x < self.low or (self.low_open and x == self.low)))
               or (self.high is not None and (x > self.high or (self.high_open and x == self.high))))
        if bad:
            bounds = self._bounds()
            raise InputError(f"{opt(name)} must be a finite number{' ' + bounds if bounds else ''}, got {value!r}")
        return value

    def describe(self) -> str:
        return f"number {self._bounds()}".strip()


class Choice(Check):
    """One of the given strings; ``names``: a function giving them when asked (a registry's names)."""

    def __init__(self, *values: str, names: Callable[[], Iterable[str]] | None = None) -> None:
        self._values, self._names = tuple(values), names

    @property
    def choices(self) -> tuple:
        return tuple(self._names()) if self._names is not None else self._values

    def __call__(self, name: str, value: Any) -> Any:
        choices = self.choices
        if not isinstance(value, str) or value not in choices:
            raise InputError(f"{opt(name)} must be one of {', '.join(choices)}; got {value!r}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)


class Flag(Check):
    """True or False."""

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, bool):
            raise InputError(f"{opt(name)} must be True or False, got {value!r}")
        return value

    def describe(self) -> str:
        return "True or False"


class Text(Check):
    """A non-empty string."""

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            raise InputError(f"{opt(name)} must be a non-empty string, got {value!r}")
        return value

    def describe(self) -> str:
        return "non-empty string"


class Optional(Check):
    """None, or what ``check`` accepts."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.arg_type = check.arg_type

    @property
    def choices(self) -> tuple | None:
        return self.check.choices

    def __call__(self, name: str, value: Any) -> Any:
        return None if value is None else self.check(name, value)

    def describe(self) -> str:
        return f"None or {self.check.describe()}"


class Each(Check):
    """A sequence (kept as a tuple) whose every item passes ``check``."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.arg_type = check.arg_type

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise InputError(f"{opt(name)} must be a list, got {value!r}")
        return tuple(self.check(name, v) for v in value)

    def describe(self) -> str:
        return f"list of: {self.check.describe()}"


def OptionalInt(low: int | None = None, high: int | None = None) -> Optional:  # noqa: N802 (reads as a check)
    """None, or a whole number within [low, high]."""
    return Optional(Int(low, high))


def k_or_auto(value: str) -> int | str:
    """An argparse type: "auto" or an int >= 1 (a clustering's K)."""
    return "auto" if value == "auto" else positive_int(value)


class IntOrAuto(Check):
    """"auto" or a whole number >= ``low``."""

    arg_type = staticmethod(k_or_auto)

    def __init__(self, low: int = 1) -> None:
        self.low = low

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and value == "auto":
            return value
        if not _is_int(value) or value < self.low:
            raise InputError(f"{opt(name)} must be a whole number >= {self.low} or auto, got {value!r}")
        return value

    def describe(self) -> str:
        return f"auto or whole number >= {self.low}"


class Whole(Int):
    """A whole number >= ``low``, worded "a whole number >= 1" (generate's and the sweep's checks)."""

    def __init__(self, low: int) -> None:
        super().__init__(low=low)

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < self.low:
            raise InputError(f"{opt(name)} must be a whole number >= {self.low}, got {value!r}")
        return value


class PathOrNone(Check):
    """None, a path string or an os.PathLike (the folder is checked where it is written)."""

    def __call__(self, name: str, value: Any) -> Any:
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise InputError(f"{opt(name)} must be a path, got {value!r}")
        return value

    def describe(self) -> str:
        return "None or a path"

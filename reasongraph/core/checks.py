"""Checks of parameter values at the public entry points, each failing with one InputError that names the
parameter (in the caller's words, see :func:`reasongraph.core.errors.opt`) and the value it got.

Every public function checks its parameters here before it does any work, so a bad value never surfaces later as
a traceback from deep inside (numpy, torch, a worker) or as one error per record of a batch run.
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt

__all__ = ["MAX_SEED", "check_choice", "check_int", "check_number", "check_optional_int",
           "check_path", "check_path_writable", "check_seed"]

#: The largest seed: numpy's legacy generators and scikit-learn take seeds below 2**32.
MAX_SEED = 2**32 - 1


def _numpy_types(*names: str) -> tuple[type, ...]:
    """numpy's scalar types ``names``, or none while numpy is not loaded (then no value can be one): the checks
    never load numpy themselves, so the CLI's parser stays light."""
    np = sys.modules.get("numpy")
    return tuple(getattr(np, n) for n in names) if np is not None else ()


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, *_numpy_types("integer"))) and not isinstance(value, bool)


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int within [low, high]."""
    if not _is_int(value):
        raise InputError(f"{opt(name)} must be a whole number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError(f"{opt(name)} must be {_range(low, high)}, got {value}")
    return int(value)


def check_optional_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int | None:
    """None, or :func:`check_int`."""
    return None if value is None else check_int(name, value, low=low, high=high)


def check_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float within the bounds (open bounds exclude themselves)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_numpy_number(value):
        raise InputError(f"{opt(name)} must be a number, got {value!r}")
    x = float(value)
    bad = (not math.isfinite(x)
           or (low is not None and (x < low or (low_open and x == low)))
           or (high is not None and (x > high or (high_open and x == high))))
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        raise InputError(f"{opt(name)} must be a finite number{' ' + bounds if bounds else ''}, got {value!r}")
    return x


def _is_numpy_number(value: Any) -> bool:
    return isinstance(value, _numpy_types("integer", "floating"))


def check_seed(name: str, value: Any) -> int:
    """A seed: a whole number in [0, :data:`MAX_SEED`]."""
    return check_int(name, value, low=0, high=MAX_SEED)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"{opt(name)} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_path(name: str, path: Any) -> Path:
    """``path`` (a str or os.PathLike) as a Path."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InputError(f"{opt(name)} must be a file or folder path, got {path!r}")
    return Path(path)


def check_path_writable(name: str, path: Any, *, folder: bool = False) -> None:
    """Fail now, before any work, when an output path cannot be written.

    ``folder``: the path is a folder to create or fill (it must not be a file); otherwise a file to write (it
    must not be a folder). The nearest existing folder on the way must accept a new file: a probe file is
    created and removed there, which, unlike permission bits, also tells the truth to root and on read-only
    mounts.
    """
    p = check_path(name, path)
    if folder and p.exists() and not p.is_dir():
        raise InputError(f"{opt(name)} {p} exists and is not a folder")
    if not folder and p.is_dir():
        raise InputError(f"{opt(name)} {p} is a folder; give a file name")
    target = p if folder and p.is_dir() else p.parent
    while not target.exists() and target != target.parent:
        target = target.parent
    if not target.is_dir():
        raise InputError(f"{opt(name)} {p}: {target} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as e:
        raise InputError(f"{opt(name)} {p}: cannot write in {target} ({e.strerror})") from None


def _range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f">= {low}" if low is not None else f"<= {high}"

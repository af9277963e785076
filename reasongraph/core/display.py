"""Numbers and tables as text: the one formatter every summary, table and message uses.

An undefined value (None, NaN) always reads "n/a", so a reader never has to learn three spellings of "missing".
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["NA", "fmt", "fmt_ci", "fmt_p", "is_missing", "text_table"]

NA = "n/a"


def is_missing(x: Any) -> bool:
    """None, or a float NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt(x: Any, *, digits: int = 3) -> str:
    """A number in ``digits`` significant digits; bools as true/false, text as it is, missing as "n/a"."""
    if is_missing(x):
        return NA
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def fmt_p(p: Any) -> str:
    """A p-value: scientific below 0.001, three decimals above."""
    if is_missing(p):
        return NA
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


def fmt_ci(low: Any, high: Any, *, digits: int = 3) -> str:
    """A confidence interval as ``[low, high]``."""
    return f"[{fmt(low, digits=digits)}, {fmt(high, digits=digits)}]"


def text_table(head: Sequence[str], rows: Sequence[Sequence[str]], *, rule: bool = False) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned.

    ``rule`` draws a line of dashes under the header.
    """
    table = [list(head)] + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    lines = [line(table[0])]
    if rule:
        lines.append(line(["-" * w for w in widths]))
    return "\n".join(lines + [line(r) for r in table[1:]])

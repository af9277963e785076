"""Whether a sample's answer is right: the last number of its text against the answer field."""
from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.core.storage import read_jsonl

__all__ = ["is_correct", "reference_answers"]


_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)")


# ---------------------------------------------------------------------- reference answers
def is_correct(text: str, answer: Any) -> bool:
    """Whether a completion gives the reference answer.

    A numeric answer (``12``, ``"12"``, ``"1,024"``, ``"-0.5"``) must equal the last number in the text (numbers
    compared as numbers: "12.0" matches 12); any other answer must occur, case-folded, in the text's last non-blank
    line. The last number, not the first, because a completion usually restates the question first ("7 + 5 = 12").
    """
    ref = _as_number(answer)
    if ref is not None:
        found = _NUMBER.findall(text)
        value = _as_number(found[-1]) if found else None
        return value is not None and math.isclose(value, ref, rel_tol=1e-9, abs_tol=1e-9)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return bool(lines) and str(answer).strip().casefold() in lines[-1].casefold()


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)\s*", value):
        return float(value.replace(",", ""))
    return None


def reference_answers(prompts: Any, items: list, answers: Sequence[Any] | None, answer_field: str | None
             ) -> list[str | float] | None:
    """The reference answer of each prompt, from a parallel list or a field of the prompts file; checked."""
    if answers is not None:
        if isinstance(answers, (str, bytes)) or len(answers) != len(items):
            raise InputError(f"{opt('answers')} must be a list with one answer per prompt ({len(items)}), got "
                             f"{answers!r:.80}")
        values = list(answers)
        where = [f"{opt('answers')}[{i}]" for i in range(len(values))]
    elif answer_field is not None:
        values, where = _answer_field(prompts, items, answer_field)
    else:
        return None
    for w, v in zip(where, values):
        if v is None or isinstance(v, bool) or not isinstance(v, (str, int, float, np.integer, np.floating)) or (
                isinstance(v, str) and not v.strip()):
            raise InputError(f"{w}: a reference answer must be a non-empty string or a number, got {v!r}")
    return [v if isinstance(v, str) else float(v) for v in values]


def _answer_field(prompts: Any, items: list, answer_field: str) -> tuple[list[Any], list[str]]:
    if not isinstance(prompts, (str, os.PathLike)) or Path(prompts).suffix.lower() not in (".jsonl", ".ndjson",
                                                                                           ".json"):
        raise InputError(f"{opt('answer_field')} reads a JSON Lines prompts file; for prompts given otherwise pass "
                         f"{opt('answers')} as a list")
    records = list(read_jsonl(prompts))
    if len(records) != len(items):  # read_prompts already refused any bad line
        raise InputError(f"{prompts}: {len(records)} records but {len(items)} prompts")
    values = []
    for p, rec in zip(items, records):
        if answer_field not in rec:
            raise InputError(f"{p.where}: no field {answer_field!r} ({opt('answer_field')}) holding the reference "
                             "answer")
        values.append(rec[answer_field])
    return values, [f"{p.where}: field {answer_field!r}" for p in items]

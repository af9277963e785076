"""The per-pair columns a level-collapse table reads (:mod:`reasongraph.analysis.groups.level_collapse`), and what
they left out.

Per-trace measures come from the scored rows, averaged per (group, pair) so that several samples of one problem
count once; the cross-sample measures come from the per-prompt rows (diversity.jsonl), one per (group, prompt),
paired by the samples' problem. The notes say how many traces or samples a measure could not use, and why.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from reasongraph.analysis.groups.per_group import pair_means
from reasongraph.core.errors import InputError
from reasongraph.trace.hidden.rank_dynamics import WINDOW

__all__ = ["PROMPT_MEASURES", "finite", "group_prompt_rows", "group_rows", "left_out_note", "pair_columns",
           "window_note"]

#: The measures read from the per-prompt rows (diversity.jsonl), one value per prompt and group.
PROMPT_MEASURES = ("cosine_spread", "spread_variance", "node_entropy", "node_information")


def group_rows(rows: list[Mapping[str, Any]], group_field: str, groups: Iterable[str]) -> dict[str, list]:
    """Each group's rows; an InputError naming the groups present when one has none."""
    members = {g: [r for r in rows if str(r.get(group_field)) == str(g)] for g in groups}
    for g, group_rows in members.items():
        if not group_rows:
            known = sorted({str(r.get(group_field)) for r in rows})
            raise InputError(f"no rows with {group_field} = {g!r}; groups present: {', '.join(known) or 'none'}")
    return members


def group_prompt_rows(prompt_rows: Iterable[Mapping[str, Any]], group_field: str, pair_field: str,
                    groups: Iterable[str]) -> dict[str, list[dict]]:
    """Each group's per-prompt rows, keyed for pairing by ``pair_field`` (the samples' problem) where a row has
    it, else by its prompt (``sample_group``)."""
    out: dict[str, list[dict]] = {}
    for g in groups:
        out[g] = [{**r, "_pair": r.get(pair_field) if r.get(pair_field) is not None else r.get("sample_group")}
                  for r in prompt_rows if str(r.get("group")) == str(g)]
    return out


def window_note(members: Mapping[str, list], key: str) -> str:
    """How many traces a window measure left out, and why: shorter than the window, or (a measure added later) a
    cached summary from before the measure existed."""
    rows = [r for rs in members.values() for r in rs]
    short = sum(1 for r in rows if (n := r.get("n_tokens")) is not None and n < WINDOW)
    older = sum(1 for r in rows if finite(r.get("erank_window")) and not finite(r.get(key)))
    notes = [f"{short} of {len(rows)} traces shorter than the {WINDOW}-token window: NaN, left out (no silent "
             "ceiling)"] if short else []
    if older:
        notes.append(f"{older} traces cached before this measure existed: NaN, left out (score into a new cache "
                     "folder to compute it)")
    return "; ".join(notes)


def finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def left_out_note(prompt_members: Mapping[str, list]) -> str:
    left = sum(int(r.get("n_spread_left_out") or 0) for rs in prompt_members.values() for r in rs)
    return f"{left} samples left out (shorter than M or empty)" if left else ""


def pair_columns(members: Mapping[str, list], prompts: Mapping[str, list], keys: list[str], pair_field: str,
             pairs: list[str]) -> dict[str, np.ndarray]:
    """(n_pairs, n_keys) per group: trace measures averaged per pair, prompt measures averaged per pair."""
    out = {}
    for g in members:
        trace_keys = [k for k in keys if k not in PROMPT_MEASURES]
        prompt_keys = [k for k in keys if k in PROMPT_MEASURES]
        by_trace = pair_means(members[g], pair_field, trace_keys)
        by_prompt = pair_means(prompts.get(g, []), "_pair", prompt_keys)
        col = np.full((len(pairs), len(keys)), np.nan)
        for i, p in enumerate(pairs):
            for j, k in enumerate(keys):
                source, names = (by_prompt, prompt_keys) if k in PROMPT_MEASURES else (by_trace, trace_keys)
                if p in source:
                    col[i, j] = source[p][names.index(k)]
        out[g] = col
    return out

"""The checkpoint-sweep report: exploration against the training step, from plain sweep rows.

One page, every chart on one shared x-axis (the training step): token entropy (H_mean), the hidden states'
windowed effective rank, revisits per step, accuracy and reward when present, then each checkpoint's collapse
ratio against the first (mean ratio of H_mean and of erank_window, with paired bootstrap intervals: a token line
falling under the hidden line is the seed question's "entropy collapses at the token level only"). Below them the
entropy-performance law (R against H with the fitted curve and its ceiling), the level-collapse table of the last
checkpoint against the first (drawn by ``collapse.js``) and the table of every checkpoint.

The payload holds plain numbers and strings; ``checkpoints.js`` draws it (see :mod:`reasongraph.html.document` for
how pages stay offline and safe).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reasongraph.html.document import render_view

__all__ = ["SERIES", "sweep_html", "sweep_payload", "write_sweep_html"]

#: The per-checkpoint charts, top to bottom: (row key, label, level). Absent or all-NaN columns are left out.
SERIES = (
    ("H_mean", "token entropy H_mean (nats)", "token"),
    ("H_low_share", "share of tokens with H < 0.01", "token"),
    ("erank_window", "effective rank over token windows (erank_window)", "hidden"),
    ("revisits_per_step", "revisits per step", "hidden"),
    ("distinct_walk_share", "distinct walks per prompt (share)", "samples"),
    ("accuracy", "probe accuracy", "outcome"),
)
#: The table's columns after the checkpoint and its step.
TABLE_KEYS = ("H_mean", "H_low_share", "forking_share_ref", "erank_window", "erv", "revisits_per_step",
              "loop_exists_share", "distinct_walk_share", "accuracy", "cov_logp_adv", "H_change_next", "tokens_mean",
              "token_collapse", "hidden_collapse_erank", "seconds")


def sweep_payload(rows: Sequence[Mapping[str, Any]], *, laws: Mapping[str, Mapping] | None = None,
                  collapse: Mapping | None = None, options: Mapping | None = None, title: str | None = None) -> dict:
    """The view payload of a sweep: rows as :func:`reasongraph.train.sweep.sweep` returns them (one per checkpoint, in
    step order), the entropy-law fits ({R field: EntropyLaw.as_dict()}), the last-vs-first collapse table and the
    options."""
    rows = [dict(r) for r in rows]
    laws = {str(k): dict(v) for k, v in (laws or {}).items()}
    reward = (options or {}).get("reward_field")
    series = [(k, label, level) for k, label, level in SERIES]
    if reward:
        series.append((str(reward), f"training reward ({reward}, logged by the trainer)", "outcome"))
    steps = [r.get("step") for r in rows]
    charts = [{"key": k, "label": label, "level": level, "values": [_num(r.get(k)) for r in rows]}
              for k, label, level in series]
    charts = [c for c in charts if any(v is not None for v in c["values"])]
    columns = [k for k in TABLE_KEYS if any(k in r for r in rows)]
    return {
        "format": "reasongraph.view", "kind": "sweep", "version": 1,
        "title": title or "Exploration over training checkpoints",
        "steps": steps,
        "checkpoints": [str(r.get("checkpoint", "")) for r in rows],
        "charts": charts,
        "ratios": [_ratio_series(rows, "token_collapse", "token: H_mean / first", "token"),
                   _ratio_series(rows, "hidden_collapse_erank", "hidden: erank_window / first", "hidden")],
        "laws": [{**law, "points": {"H": [_num(r.get("H_mean")) for r in rows],
                                    "R": [_num(r.get(name)) for r in rows]}} for name, law in laws.items()],
        "collapse": dict(collapse) if collapse else None,
        "table": {"columns": ["checkpoint", "step", *columns],
                  "rows": [[r.get("checkpoint"), r.get("step"), *[_num(r.get(k)) for k in columns]] for r in rows]},
        "options": dict(options or {}),
    }


def _ratio_series(rows: list[dict], key: str, label: str, level: str) -> dict:
    """The collapse ratio mean_B / mean_A = 1 - collapse, its interval flipped accordingly."""
    def flip(v: Any) -> float | None:
        v = _num(v)
        return None if v is None else 1.0 - v

    return {"key": key, "label": label, "level": level, "value": [flip(r.get(key)) for r in rows],
            "lo": [flip(r.get(f"{key}_ci_high")) for r in rows], "hi": [flip(r.get(f"{key}_ci_low")) for r in rows]}


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(v)
    return None


def sweep_html(rows: Any, *, full_page: bool = True, root_id: str | None = None, **kwargs: Any) -> str:
    """The sweep report as HTML: ``rows`` is a sweep payload or the rows for :func:`sweep_payload` (with its
    keyword arguments)."""
    if isinstance(rows, Mapping) and rows.get("format") == "reasongraph.view":
        payload = dict(rows)
    else:
        payload = sweep_payload(rows, **kwargs)
    return render_view("sweep", payload, full_page=full_page, root_id=root_id)


def write_sweep_html(rows: Any, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`sweep_html` to ``path`` (UTF-8; missing folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sweep_html(rows, **kwargs), encoding="utf-8")
    return path

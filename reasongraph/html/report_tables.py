"""The compare and comparison tables of a dataset report, and its records as flat rows."""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reasongraph.core.display import fmt
from reasongraph.core.errors import InputError, opt
from reasongraph.core.json_values import scalar as _scalar
from reasongraph.core.storage import read_json


# ---------------------------------------------------------------------------------------------- compare
def compare_table(compare: Any) -> dict | None:
    """A comparison as one table (``title``, ``help``, ``facts``, ``columns``, ``rows``, ``p_column``).

    The output of ``reasongraph compare --json`` (``Comparison.as_dict()``: groups ``a``/``b``, ``metrics``
    keyed by name) gets named columns and a merged CI; any other JSON with a table of records is shown as it is.
    """
    if compare is None:
        return None
    if hasattr(compare, "as_dict"):
        compare = compare.as_dict()
    where = opt("compare")
    if isinstance(compare, (str, os.PathLike)):
        where = str(compare)
        compare = read_json(compare, what="comparison (the output of reasongraph compare --json)")
    if isinstance(compare, Mapping) and {"a", "b", "metrics"} <= set(compare):
        return _comparison_table(compare)
    facts, records = {}, None
    if isinstance(compare, Mapping):
        for k, v in compare.items():
            if is_scalar(v):
                facts[str(k)] = _scalar(v)
            elif records is None and isinstance(v, (list, Mapping)):
                records = _records(v, str(k))
    elif isinstance(compare, Sequence) and not isinstance(compare, (str, bytes)):
        records = _records(compare, "metric")
    if not records:
        raise InputError(f"{where}: expected the output of `reasongraph compare --json` (a table of metrics)")
    columns: list[str] = []
    for rec in records:
        for k in rec:
            if k not in columns:
                columns.append(k)
    return {"title": "Comparison", "help": None, "facts": facts, "columns": columns,
            "rows": [[rec.get(c) for c in columns] for rec in records],
            "p_column": "p_value" if "p_value" in columns else None}


def _comparison_table(c: Mapping) -> dict:
    a, b = str(c["a"]), str(c["b"])
    metrics = c["metrics"]
    items = list(metrics.values()) if isinstance(metrics, Mapping) else list(metrics)
    paired = c.get("pair_field") is not None
    test = next((str(m.get("test")) for m in items if m.get("test")), "test")
    columns = ["metric", "n pairs" if paired else "n", f"mean {a} (A)", f"mean {b} (B)", "B \u2212 A", "95% CI",
               f"p ({test})"]
    rows = [[str(m.get("metric")), _scalar(m.get("n")), _scalar(m.get("mean_a")), _scalar(m.get("mean_b")),
             _scalar(m.get("diff")), f"[{fmt(m.get('ci_low'), digits=4)}, {fmt(m.get('ci_high'), digits=4)}]",
             _scalar(m.get("p_value"))] for m in items]
    facts = {"groups from field": _scalar(c.get("group_name") or c.get("group_field")),
             "pairs matched on field": _scalar(c.get("pair_name") or c.get("pair_field")) if paired else "unpaired",
             f"rows {a}": _scalar(c.get("n_a")), f"rows {b}": _scalar(c.get("n_b"))}
    if paired:
        facts["pairs"] = _scalar(c.get("n_pairs"))
    for g, key in ((a, "detection_ratio_a"), (b, "detection_ratio_b")):
        if c.get(key) is not None:
            facts[f"detection ratio {g}"] = _scalar(c.get(key))
    how = ("paired by problem: mean of B \u2212 A over pairs, bootstrap CI over pairs" if paired else
           "unpaired: difference of means, bootstrap CI resampling each group")
    return {"title": f"{b} (B) vs {a} (A)", "help": how + ".", "facts": facts, "columns": columns, "rows": rows,
            "p_column": columns[-1]}


def _records(v: Any, key_name: str) -> list[dict] | None:
    """A list of flat records from a list of dicts, or a dict of dicts (its keys become a first column)."""
    if isinstance(v, Mapping) and v and all(isinstance(x, Mapping) for x in v.values()):
        name = "metric" if key_name in ("metrics", "rows", "table") else key_name
        return [{name: str(k), **_flat(x)} for k, x in v.items()]
    if isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
        return [_flat(x) for x in v]
    return None


def _flat(rec: Mapping, prefix: str = "") -> dict:
    out: dict[str, Any] = {}
    for k, v in rec.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flat(v, name + "."))
        elif isinstance(v, (list, tuple)) and len(v) == 2 and all(is_scalar(x) for x in v):
            out[name] = f"[{fmt(v[0], digits=4)}, {fmt(v[1], digits=4)}]"  # a confidence interval
        else:
            out[name] = _scalar(v)
    return out


def is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, bool, int, float, np.generic))

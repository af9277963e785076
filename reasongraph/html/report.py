"""The view payload of a dataset report: per-group distributions, the compare table, the most cyclic traces.

Reads what ``reasongraph score`` writes (``rows.jsonl``, ``errors.jsonl``, ``manifest.json``) or rows given
directly, and what ``reasongraph compare --json`` prints. Statistics are recomputed from the rows (the rows are
the source of truth; ``summary.json`` is not needed).
"""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.html.payload import _finite_or_none as _num, _scalar

__all__ = ["DIST_METRICS", "line_key", "load_rows", "most_cyclic_ids", "most_cyclic_rows", "report_payload",
           "wilson_interval"]

#: Distributions shown per group: (key, label, help, row keys tried in order).
DIST_METRICS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("loop_count", "loop count", "returns to the first revisited node (the paper's released code)",
     ("loop_count",)),
    ("n_revisits", "revisit events", "steps that re-enter an earlier node with another node in between",
     ("n_revisits",)),
    ("n_hidden_only", "hidden-only events", "revisits with no entropy spike in their step",
     ("n_hidden_only", "align_n_hidden_only")),
    ("mean_entropy", "mean token entropy (nats)", "mean next-token entropy over the trace", ("mean_entropy",)),
    ("effective_rank", "effective rank", "effective rank of the trace's hidden states", ("effective_rank",)),
    ("erv", "ER velocity", "effective-rank velocity along the trace (VERL)", ("erv",)),
    ("diameter_hops", "diameter (hops)", "longest shortest path in the reasoning graph, in edges",
     ("diameter_hops",)),
    ("small_world_hops", "small-world index (hops)", "(C / C_rand) / (L / L_rand)", ("small_world_hops",)),
)

_TOP_COLUMNS = ("loop_count", "n_revisits", "max_revisits", "n_hidden_only", "mean_entropy", "effective_rank",
                "n_steps", "n_tokens")
_MAX_DOTS = 400  # dots drawn per group and metric; box statistics always use every row
_SAFE_HREF = re.compile(r"^(?:https?:|file:|[^:/?#]*(?:[/?#]|$))", re.IGNORECASE)


def report_payload(run_dir_or_results: Any, compare: Any = None, *, title: str | None = None, top: int = 10,
                   embeds: Mapping[str, dict] | None = None, links: Mapping[str, str] | None = None,
                   link_base: str | Path | None = None) -> dict:
    """Build the report payload.

    Parameters
    ----------
    run_dir_or_results : a score output directory, a list of row dicts, or a mapping with ``rows``.
    compare : ``reasongraph compare --json`` output (dict, or a path to a JSON file), or None.
    title : report title; defaults to the directory name.
    top : number of most cyclic traces listed (ranked by loop_count, then n_revisits, then max_revisits).
    embeds : {record id, or :func:`line_key` of a row: trace payload} of traces to embed as interactive views.
    links : {record id: href} of per-trace pages. Without it, ``<run_dir>/html/<id>.html`` files that exist are
        linked, relative to ``link_base`` (the report's folder) when given, else as file:// URIs.
    link_base : folder the report will be written to, for relative links.

    Returns
    -------
    dict
    """
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}")
    rows, n_errors, manifest, run_dir = _source(run_dir_or_results)
    groups = _groups(rows)
    by_group = {g: [r for r in rows if _group_of(r) == g] for g in groups}
    links = dict(links) if links is not None else _found_links(rows, run_dir, link_base)
    embeds = dict(embeds or {})
    payload = {
        "format": "reasongraph.view",
        "version": 1,
        "kind": "report",
        "title": title or (f"reasongraph report · {run_dir.name}" if run_dir else "reasongraph report"),
        "n_rows": len(rows),
        "n_errors": n_errors,
        "groups": groups,
        "group_sizes": [len(by_group[g]) for g in groups],
        "run": _run_options(manifest),
        "detection": [_detection(by_group[g]) for g in groups],
        "distributions": _distributions(by_group, groups),
        "compare": _compare_table(compare),
        "top": _top_rows(rows, top, links, embeds),
        "embeds": embeds,
    }
    return payload


def most_cyclic_ids(run_dir_or_results: Any, top: int = 10) -> list[str | None]:
    """Ids of the ``top`` most cyclic rows (by loop_count, then n_revisits, then max_revisits), in report order."""
    return [_id(r.get("id")) for r in most_cyclic_rows(run_dir_or_results, top)]


def most_cyclic_rows(run_dir_or_results: Any, top: int = 10) -> list[dict]:
    """The ``top`` most cyclic rows, in report order; ``report_html(run_dir, embed=n)`` embeds the first n."""
    rows, *_ = _source(run_dir_or_results)
    return _ranked(rows)[:top]


def line_key(line: Any) -> str:
    """The key of a run's row in a report's embeds: its input line, unique where ids may repeat."""
    return f"line:{line}"


def load_rows(path: str | Path) -> list[dict]:
    """Rows of a ``rows.jsonl`` file (blank lines skipped; a bad line raises ValueError naming it)."""
    path = Path(path)
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not a JSON line ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{n}: a row must be a JSON object")
            rows.append(row)
    return rows


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion k/n; (nan, nan) when n == 0.

    Wilson rather than the normal approximation because detection ratios sit near 0 or 1 on small groups,
    where the normal interval leaves [0, 1].
    """
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


# ---------------------------------------------------------------------------------------------- sources
def _source(obj: Any) -> tuple[list[dict], int | None, dict, Path | None]:
    """(rows, number of error lines or None, manifest, run directory or None)."""
    if isinstance(obj, (str, os.PathLike)):
        run_dir = Path(obj)
        if not run_dir.is_dir():
            raise FileNotFoundError(f"{run_dir}: not a directory (expected the --out folder of reasongraph score)")
        rows_path = run_dir / "rows.jsonl"
        if not rows_path.is_file():
            raise FileNotFoundError(f"{run_dir}: no rows.jsonl (is it the --out folder of reasongraph score?)")
        errors = run_dir / "errors.jsonl"
        n_errors = None
        if errors.is_file():
            with open(errors, encoding="utf-8") as f:
                n_errors = sum(1 for line in f if line.strip())
        manifest = _read_json(run_dir / "manifest.json")
        return load_rows(rows_path), n_errors, manifest if isinstance(manifest, dict) else {}, run_dir
    if isinstance(obj, Mapping):
        if "rows" not in obj:
            raise ValueError("run_dir_or_results: a mapping must hold the rows under 'rows'")
        rows = obj["rows"]
        manifest = obj.get("manifest") or {}
        n_errors = len(obj["errors"]) if isinstance(obj.get("errors"), Sequence) else None
    else:
        rows, manifest, n_errors = obj, {}, None
    if hasattr(rows, "to_dict"):  # a pandas DataFrame
        rows = rows.to_dict(orient="records")
    if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)) or \
            not all(isinstance(r, Mapping) for r in rows):
        raise ValueError("run_dir_or_results must be a score output folder, a list of row dicts, or a mapping "
                         "with 'rows'")
    return [dict(r) for r in rows], n_errors, dict(manifest), None


def _run_options(manifest: Mapping) -> dict:
    """The options a run was made with (``manifest.json`` keeps them under ``options``), scalars and lists."""
    options = manifest.get("options", manifest) if isinstance(manifest, Mapping) else {}
    if not isinstance(options, Mapping):
        return {}
    return {str(k): v for k, v in options.items() if _is_scalar(v) or isinstance(v, (list, tuple))}


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _group_of(row: Mapping) -> str:
    g = row.get("group")
    return "all" if g is None or g == "" else str(g)


def _groups(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        seen.setdefault(_group_of(r), None)
    return list(seen)


def _value(row: Mapping, keys: Sequence[str]) -> float | None:
    for k in keys:
        if k in row:
            v = row[k]
            if isinstance(v, bool):
                return float(v)
            try:
                f = float(v)
            except (TypeError, ValueError):
                return None
            return f if math.isfinite(f) else None
    return None


# ---------------------------------------------------------------------------------------------- statistics
def _detection(rows: list[dict]) -> dict:
    flags = [bool(r["loop_exists"]) for r in rows if r.get("loop_exists") is not None]
    k, n = sum(flags), len(flags)
    lo, hi = wilson_interval(k, n)
    return {"n": n, "k": k, "ratio": k / n if n else None, "lo": _num(lo), "hi": _num(hi)}


def _distributions(by_group: dict[str, list[dict]], groups: list[str]) -> list[dict]:
    out = []
    for key, label, help_text, keys in DIST_METRICS:
        per_group = []
        for g in groups:
            pairs = [(v, r.get("id")) for r in by_group[g] if (v := _value(r, keys)) is not None]
            per_group.append(_box(pairs))
        if any(pg["n"] for pg in per_group):
            out.append({"key": key, "label": label, "help": help_text, "groups": per_group})
    return out


def _box(pairs: list[tuple[float, Any]]) -> dict:
    if not pairs:
        return {"n": 0, "values": [], "ids": []}
    v = np.array([p[0] for p in pairs], dtype=np.float64)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    order = np.argsort(v, kind="stable")
    if v.size > _MAX_DOTS:  # evenly spaced ranks keep the shape of the distribution
        order = order[np.unique(np.linspace(0, v.size - 1, _MAX_DOTS).round().astype(int))]
    return {
        "n": int(v.size), "mean": _num(v.mean()), "median": _num(med), "q1": _num(q1), "q3": _num(q3),
        "min": _num(v.min()), "max": _num(v.max()),
        "values": [_num(v[i]) for i in order], "ids": [_id(pairs[i][1]) for i in order],
    }


def _ranked(rows: list[dict]) -> list[dict]:
    """Rows with a loop_count, most cyclic first (ties keep file order)."""
    def rank(r: dict) -> tuple:
        return tuple(-(_value(r, (k,)) or 0.0) for k in ("loop_count", "n_revisits", "max_revisits"))

    return sorted((r for r in rows if _value(r, ("loop_count",)) is not None), key=rank)


def _top_rows(rows: list[dict], top: int, links: Mapping[str, str], embeds: Mapping[str, dict]) -> dict:
    ranked = _ranked(rows)[:top]
    cols = [c for c in _TOP_COLUMNS if any(_value(r, _aliases(c)) is not None for r in ranked)]
    items = []
    for r in ranked:
        rid = _id(r.get("id"))
        href = links.get(rid)
        items.append({
            "id": rid,
            "group": _group_of(r),
            "values": [_num(_value(r, _aliases(c))) for c in cols],
            "href": href if href is not None and _SAFE_HREF.match(href) else None,
            "embed": next((k for k in (line_key(r.get("line")), rid) if k is not None and k in embeds), None),
        })
    return {"columns": cols, "rows": items}


def _aliases(col: str) -> tuple[str, ...]:
    return ("n_hidden_only", "align_n_hidden_only") if col == "n_hidden_only" else (col,)


def _found_links(rows: list[dict], run_dir: Path | None, link_base: str | Path | None) -> dict[str, str]:
    if run_dir is None or not (run_dir / "html").is_dir():
        return {}
    out = {}
    for r in rows:
        rid = _id(r.get("id"))
        if rid is None:
            continue
        f = run_dir / "html" / f"{_safe_name(rid)}.html"
        if f.is_file():
            if link_base is not None:
                out[rid] = Path(os.path.relpath(f.resolve(), Path(link_base).resolve())).as_posix()
            else:
                out[rid] = f.resolve().as_uri()
    return out


def _safe_name(rid: str) -> str:
    """A record id as a file name (the convention for ``<run_dir>/html/<id>.html``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", rid)[:120] or "_"


# ---------------------------------------------------------------------------------------------- compare
def _compare_table(compare: Any) -> dict | None:
    """A comparison as one table (``title``, ``help``, ``facts``, ``columns``, ``rows``, ``p_column``).

    The output of ``reasongraph compare --json`` (``Comparison.as_dict()``: groups ``a``/``b``, ``metrics``
    keyed by name) gets named columns and a merged CI; any other JSON with a table of records is shown as it is.
    """
    if compare is None:
        return None
    if hasattr(compare, "as_dict"):
        compare = compare.as_dict()
    if isinstance(compare, (str, os.PathLike)):
        path = Path(compare)
        try:
            compare = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"compare: {path} does not exist") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"compare: {path} is not JSON ({e.msg})") from None
    if isinstance(compare, Mapping) and {"a", "b", "metrics"} <= set(compare):
        return _comparison_table(compare)
    facts, records = {}, None
    if isinstance(compare, Mapping):
        for k, v in compare.items():
            if _is_scalar(v):
                facts[str(k)] = _scalar(v)
            elif records is None and isinstance(v, (list, Mapping)):
                records = _records(v, str(k))
    elif isinstance(compare, Sequence) and not isinstance(compare, (str, bytes)):
        records = _records(compare, "metric")
    if not records:
        raise ValueError("compare: expected the output of `reasongraph compare --json` (a table of metrics)")
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
    paired = c.get("pair_key") is not None
    test = next((str(m.get("test")) for m in items if m.get("test")), "test")
    columns = ["metric", "n pairs" if paired else "n", f"mean {a} (A)", f"mean {b} (B)", "B \u2212 A", "95% CI",
               f"p ({test})"]
    rows = [[str(m.get("metric")), _scalar(m.get("n")), _scalar(m.get("mean_a")), _scalar(m.get("mean_b")),
             _scalar(m.get("diff")), f"[{_fmt(m.get('ci_low'))}, {_fmt(m.get('ci_high'))}]",
             _scalar(m.get("p_value"))] for m in items]
    facts = {"grouped by": _scalar(c.get("group_key")),
             "paired by": _scalar(c.get("pair_key")) if paired else "unpaired",
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
        elif isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_scalar(x) for x in v):
            out[name] = f"[{_fmt(v[0])}, {_fmt(v[1])}]"  # a confidence interval
        else:
            out[name] = _scalar(v)
    return out


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, bool, int, float, np.generic))


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return "n/a" if not math.isfinite(v) else f"{v:.4g}"
    return str(v)


def _id(v: Any) -> str | None:
    return None if v is None else str(v)

"""The per-trace alignment tables of one group (a run, a model), pooled over its traces.

One trace has few revisits, so its own odds ratio is noisy; summing the tables of many traces would mix traces
with different base rates (a trace with many revisits and many spikes fakes an association). The
Mantel-Haenszel estimator pools the traces as strata instead
(:func:`reasongraph.stats.mantel_haenszel.mantel_haenszel`), and the hidden-only share is pooled as a ratio of sums
with a bootstrap CI over traces (:func:`reasongraph.stats.mantel_haenszel.pooled_share`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from reasongraph.analysis.alignment.onset_relative import near_saturated
from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import CI, N_BOOT, SEED
from reasongraph.stats.mantel_haenszel import mantel_haenszel, pooled_share

__all__ = ["TABLES", "pool_alignment", "spike_rate"]

#: The pooled tables: output key prefix -> the row fields of its cells [[a, b], [c, d]] (see
#: :meth:`reasongraph.analysis.alignment.alignment.Alignment.as_dict`).
TABLES: dict[str, tuple[str, str, str, str]] = {
    "": ("align_revisit_spike", "align_revisit_nospike", "align_norevisit_spike", "align_norevisit_nospike"),
    "marker_revisit_": ("align_revisit_marker", "align_revisit_nomarker", "align_norevisit_marker",
                        "align_norevisit_nomarker"),
    "marker_spike_": ("align_marker_spike", "align_marker_nospike", "align_nomarker_spike",
                      "align_nomarker_nospike"),
    "rel_": ("align_rel_revisit_spike", "align_rel_revisit_nospike", "align_rel_norevisit_spike",
             "align_rel_norevisit_nospike"),
}


def _count(row: Mapping[str, Any], field: str, where: str) -> int:
    value = row.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or not math.isfinite(value) \
            or value < 0 or value != int(value):
        raise InputError(f"{where}: {field} must be a non-negative integer count, got {value!r}")
    return int(value)


def _where(i: int, row: Mapping[str, Any]) -> str:
    name = f"row {i}"
    if row.get("line") is not None:
        name += f" (line {row['line']})"
    if row.get("id") is not None:
        name += f" id {row['id']!r}"
    return name


def _with_cells(rows: list[Mapping[str, Any]], fields: tuple[str, ...]) -> list[tuple[int, Mapping[str, Any]]]:
    """(index, row) of the rows whose four cells are all present (not missing, not None)."""
    return [(i, r) for i, r in enumerate(rows) if all(r.get(f) is not None for f in fields)]


def _tables(members: list[tuple[int, Mapping[str, Any]]], fields: tuple[str, ...]) -> np.ndarray:
    return np.array([[_count(r, f, _where(i, r)) for f in fields] for i, r in members],
                    dtype=np.int64).reshape(-1, 2, 2)


def _mh_fields(prefix: str, tables: np.ndarray, ci: float) -> dict[str, Any]:
    keys = ("mh_odds_ratio", "mh_ci_low", "mh_ci_high", "cmh_statistic", "cmh_p", "mh_n_strata")
    if tables.shape[0] == 0:
        return {prefix + k: None for k in keys}
    mh = mantel_haenszel(tables, ci=ci)
    values = (mh.odds_ratio, mh.ci_low, mh.ci_high, mh.statistic, mh.p_value, mh.n_strata)
    return {prefix + k: v for k, v in zip(keys, values)}


def _hidden_only(prefix: str, members: list[tuple[int, Mapping[str, Any]]], tables: np.ndarray, field: str, *,
                 n_boot: int, ci: float, seed: int) -> dict[str, Any]:
    """The pooled hidden-only share (sum of ``field`` / sum of revisits, the tables' first rows) with its bootstrap
    CI over traces, and the two sums."""
    revisits = tables[:, 0].sum(axis=1)
    hidden = np.array([_count(r, field, _where(i, r)) for i, r in members], dtype=np.int64)
    if np.any(hidden > revisits):
        raise InputError(f"{field} exceeds the revisits of its table in some row: the fields do not come from one "
                         "alignment")
    share = pooled_share(hidden, revisits, n_boot=n_boot, ci=ci, seed=seed) if members else (None, None, None)
    keys = ("hidden_only_share", "hidden_only_share_ci_low", "hidden_only_share_ci_high")
    return {**{prefix + k: v for k, v in zip(keys, share)}, prefix + "n_revisits": int(revisits.sum()),
            prefix + "n_hidden_only": int(hidden.sum())}


def spike_rate(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The token-relative spike rate of a group: steps with a spike / steps, summed over its traces' revisit x
    spike tables; ``near_saturated`` when above 0.8 (None without a step); ``n_near_saturated`` traces whose own
    rate is above 0.8, of ``n_traces`` with a table."""
    members = _with_cells(list(rows), TABLES[""])
    tables = _tables(members, TABLES[""])
    steps = int(tables.sum())
    rate = float(tables[:, :, 0].sum() / steps) if steps else math.nan
    return {"spike_rate": rate if steps else None, "near_saturated": near_saturated(rate),
            "n_near_saturated": sum(1 for _, r in members if r.get("align_near_saturated") is True),
            "n_traces": len(members)}


def pool_alignment(rows: Iterable[Mapping[str, Any]], *, prefix: str = "", n_boot: int = N_BOOT.default,
                   ci: float = CI.default, seed: int = SEED.default) -> dict[str, Any]:
    """Pool the alignment of one group's traces: Mantel-Haenszel odds ratios and the hidden-only share.

    Pass the scored rows of one group (one row per trace, carrying the cell fields of
    :meth:`reasongraph.analysis.alignment.alignment.Alignment.as_dict`); rows without those cells (failed records, or
    rows scored without markers for the marker tables) are left out of that table.

    Parameters
    ----------
    rows : scored rows of one group.
    prefix : prepended to every output key (e.g. ``"pooled_"``).
    n_boot, ci, seed : bootstrap of the hidden-only share over traces, and the coverage of every interval.

    Returns
    -------
    dict, flat and JSON-able (NaN where a statistic is undefined, see
    :func:`reasongraph.stats.mantel_haenszel.mantel_haenszel`):

    - ``n_traces``: rows with a revisit x spike table.
    - revisit x onset spike, traces as strata: ``mh_odds_ratio``, ``mh_ci_low``, ``mh_ci_high`` (Robins-
      Breslow-Greenland), ``cmh_statistic``, ``cmh_p`` (Cochran-Mantel-Haenszel, continuity corrected),
      ``mh_n_strata`` (traces with at least one step).
    - ``hidden_only_share`` = sum(align_n_hidden_only) / sum(revisits), revisits = align_revisit_spike +
      align_revisit_nospike; ``hidden_only_share_ci_low``, ``hidden_only_share_ci_high`` (percentile bootstrap
      over traces with a revisit); ``n_revisits``, ``n_hidden_only`` (the sums).
    - ``spike_rate``: steps with a spike / steps, pooled over the traces (the token-relative rule of the rows);
      ``near_saturated``: that rate above 0.8 (the rule can hardly fail); ``n_near_saturated``: traces whose own
      rate is above 0.8.
    - the onset-relative rule (:mod:`reasongraph.analysis.alignment.onset_relative`), over the traces where it is
    defined (at least
      5 steps): ``rel_n_traces``, the six Mantel-Haenszel fields ``rel_mh_odds_ratio``, ..., and
      ``rel_hidden_only_share`` with ``rel_hidden_only_share_ci_low`` / ``_ci_high``, ``rel_n_revisits``,
      ``rel_n_hidden_only``. Read its hidden-only share as an association: rho of the steps spike by
      construction.
    - the same six Mantel-Haenszel fields for marker x revisit (``marker_revisit_mh_odds_ratio``, ...,
      ``marker_revisit_cmh_p``, ``marker_revisit_mh_n_strata``) and marker x onset spike (``marker_spike_...``);
      None when no row has marker cells (markers were not scored).

    Every value but the counts is None when no row has a revisit x spike table.
    """
    rows = list(rows)
    if not 0 < ci < 1:
        raise InputError(f"{opt('ci')} must be in (0, 1), got {ci!r}")
    out: dict[str, Any] = {}
    members = _with_cells(rows, TABLES[""])
    main = _tables(members, TABLES[""])
    out["n_traces"] = len(members)
    out.update(_mh_fields("", main, ci))
    out.update(_hidden_only("", members, main, "align_n_hidden_only", n_boot=n_boot, ci=ci, seed=seed))
    out.update({k: v for k, v in spike_rate(rows).items() if k != "n_traces"})

    relative = _with_cells(rows, TABLES["rel_"])
    rel = _tables(relative, TABLES["rel_"])
    out["rel_n_traces"] = len(relative)
    out.update(_mh_fields("rel_", rel, ci))
    out.update(_hidden_only("rel_", relative, rel, "align_rel_n_hidden_only", n_boot=n_boot, ci=ci, seed=seed))

    for table_prefix in ("marker_revisit_", "marker_spike_"):
        fields = TABLES[table_prefix]
        out.update(_mh_fields(table_prefix, _tables(_with_cells(rows, fields), fields), ci))
    return {prefix + k: v for k, v in out.items()}

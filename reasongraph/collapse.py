"""Where does entropy collapse? The level-collapse table of a reference group A and a trained group B.

RL training makes the token entropy of a policy collapse; the seed question is whether its hidden states
collapse as much. For the same problems (pairs) scored in group A (a base model, an earlier checkpoint) and
group B (RL-trained, distilled), each measure of the token level and of the hidden level gets its collapse
ratio mean_B / mean_A over pairs, with a paired bootstrap CI and a Wilcoxon signed-rank test.
token_collapse = 1 - ratio(H_mean) and hidden_collapse = 1 - ratio(erank_window) summarize the two levels; the
seed's claim is token_collapse > hidden_collapse, so their difference gets a paired bootstrap CI and a
sign-flip p-value. The comparison is faithful only when each group was scored by the model that wrote it
(``mode`` says which was done).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reasongraph.display import fmt, fmt_ci, fmt_p
from reasongraph.errors import InputError, opt
from reasongraph.stats import bootstrap_interval, paired_ratio, sign_flip_p
from reasongraph.summary import FEWER_THAN_2, column, pair_means

__all__ = ["MEASURES", "CollapseRow", "CollapseTable", "collapse_table"]

#: The measures of the table, in order: row key -> (level, label).
MEASURES: dict[str, tuple[str, str]] = {
    "mean_entropy": ("token", "H_mean (mean token entropy, nats)"),
    "low_entropy_share": ("token", "H_low_share (share of tokens with H < 0.01)"),
    "forking_share_ref": ("token", "forking share above A's top-20% threshold"),
    "onset_entropy_mean": ("token", "onset entropy (mean over steps, nats)"),
    "erank_window": ("hidden", "effective rank (mean over 128-token windows)"),
    "erv": ("hidden", "ERV (effective-rank velocity)"),
    "era": ("hidden", "ERA (effective-rank acceleration)"),
    "revisits_per_step": ("hidden", "revisits per step"),
    "loop_exists": ("hidden", "loop exists (share of traces)"),
    "loop_count": ("hidden", "loop count"),
}


@dataclass
class CollapseRow:
    """One measure: means over its pairs (both values finite), ratio B/A with its CI, Wilcoxon p."""

    key: str
    label: str
    level: str
    mean_a: float
    mean_b: float
    ratio: float
    ci_low: float
    ci_high: float
    p: float
    n: int
    note: str
    test: str = "wilcoxon"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "level": self.level, "mean_a": self.mean_a,
                "mean_b": self.mean_b, "ratio": self.ratio, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p": self.p, "test": self.test, "n": self.n, "note": self.note}


@dataclass
class CollapseTable:
    """The level-collapse table of group B against group A (see :func:`collapse_table`)."""

    a: str
    b: str
    mode: str | None
    n_pairs: int
    rows: list[CollapseRow]
    token_collapse: dict[str, float]
    hidden_collapse: dict[str, float]
    difference: dict[str, float]
    coupling: dict[str, float | None] = field(default_factory=dict)
    ci: float = 0.95

    def as_dict(self) -> dict[str, Any]:
        """The structure the HTML report draws (NaN stays NaN)."""
        return {"a": self.a, "b": self.b, "mode": self.mode, "n_pairs": self.n_pairs,
                "rows": [r.as_dict() for r in self.rows],
                "summary": {"token_collapse": dict(self.token_collapse),
                            "hidden_collapse": dict(self.hidden_collapse),
                            "difference": dict(self.difference)},
                "coupling": dict(self.coupling)}

    def to_table(self) -> str:
        """Plain text for the terminal: token rows, hidden rows, then the summary lines."""
        head = f"where entropy collapses: {self.b} (B) vs {self.a} (A), {self.n_pairs} pairs"
        if self.mode:
            head += f"; {self.mode}"
        cols = ["level", "measure", "n", "mean A", "mean B", "B/A", f"{self.ci:.0%} CI", "p (wilcoxon)", "note"]
        body = []
        for level in ("token", "hidden"):
            for r in (r for r in self.rows if r.level == level):
                body.append([level, r.label, str(r.n), fmt(r.mean_a, 4), fmt(r.mean_b, 4), fmt(r.ratio, 4),
                             fmt_ci(r.ci_low, r.ci_high, 4), fmt_p(r.p), r.note])
        widths = [max(len(row[i]) for row in [cols] + body) for i in range(len(cols))]

        def line(row: list[str]) -> str:
            return "  ".join(c.ljust(w) if i in (0, 1, len(cols) - 1) else c.rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip()

        tc, hc, d = self.token_collapse, self.hidden_collapse, self.difference
        lines = [head, "", line(cols), line(["-" * w for w in widths]), *(line(r) for r in body), "",
                 f"token collapse  1 - H_mean ratio:        {_interval(tc)}",
                 f"hidden collapse 1 - erank_window ratio:  {_interval(hc)}",
                 f"token - hidden collapse:                 {_interval(d)}  sign-flip p = {fmt_p(d['p'])}"]
        if self.coupling:
            lines.append("level coupling (median Spearman, window entropy vs effective rank): "
                         + ", ".join(f"{g} {fmt(v, 4)}" for g, v in self.coupling.items()))
        return "\n".join(lines)


def _interval(s: Mapping[str, float]) -> str:
    return f"{fmt(s['value'], 4)} {fmt_ci(s['ci_low'], s['ci_high'], 4)}"


# ---------------------------------------------------------------------- the statistics of one measure
def _measure_row(key: str, xa: np.ndarray, xb: np.ndarray, n_boot: int, ci: float, seed: int) -> CollapseRow:
    from scipy.stats import wilcoxon

    level, label = MEASURES[key]
    ok = np.isfinite(xa) & np.isfinite(xb)
    xa, xb = xa[ok], xb[ok]
    n = int(xa.size)
    mean_a = float(xa.mean()) if n else math.nan
    mean_b = float(xb.mean()) if n else math.nan
    ratio, lo, hi = paired_ratio(xa, xb, n_boot=n_boot, ci=ci, seed=seed)
    notes, p = [], math.nan
    if n < 2:
        notes.append(FEWER_THAN_2)
    else:
        if mean_a == 0:
            notes.append("mean A is 0: no ratio")
        d = xb - xa
        if np.any(d != 0):
            p = float(wilcoxon(d).pvalue)
        else:
            notes.append("no nonzero difference: no Wilcoxon test")
    return CollapseRow(key=key, label=label, level=level, mean_a=mean_a, mean_b=mean_b, ratio=ratio, ci_low=lo,
                       ci_high=hi, p=p, n=n, note="; ".join(notes))


def _collapse(row: CollapseRow | None) -> dict[str, float]:
    """1 - ratio, with the interval flipped accordingly."""
    if row is None:
        return {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    return {"value": 1 - row.ratio, "ci_low": 1 - row.ci_high, "ci_high": 1 - row.ci_low}


def _difference(ha: np.ndarray, hb: np.ndarray, ea: np.ndarray, eb: np.ndarray, n_boot: int, ci: float,
                seed: int) -> dict[str, float]:
    """token_collapse - hidden_collapse = ratio(erank) - ratio(H) over pairs where all four values are finite.

    The bootstrap resamples those pairs and recomputes both ratios of means; the sign-flip test asks whether the
    per-pair differences erank_b/erank_a - H_b/H_a are centered on 0.
    """
    ok = np.isfinite(ha) & np.isfinite(hb) & np.isfinite(ea) & np.isfinite(eb)
    ha, hb, ea, eb = ha[ok], hb[ok], ea[ok], eb[ok]
    nan = {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p": math.nan}
    if ha.size < 2 or ha.mean() == 0 or ea.mean() == 0:
        return nan

    def diff(idx: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return eb[idx].mean(axis=-1) / ea[idx].mean(axis=-1) - hb[idx].mean(axis=-1) / ha[idx].mean(axis=-1)

    lo, hi = bootstrap_interval(ha.size, diff, n_boot=n_boot, ci=ci, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_pair = eb / ea - hb / ha
    return {"value": float(diff(np.arange(ha.size))), "ci_low": lo, "ci_high": hi,
            "p": sign_flip_p(per_pair, seed=seed)}


def _median(values: list[float]) -> float | None:
    x = np.array(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else None


def collapse_table(rows: Iterable[Mapping[str, Any]], a: str, b: str, *, group_field: str = "group",
                   pair_field: str = "pair", mode: str | None = None, n_boot: int = 2000, ci: float = 0.95,
                   seed: int = 0) -> CollapseTable:
    """The level-collapse table of group ``b`` against the reference group ``a``, paired by problem.

    Rows sharing a (group, pair) are averaged first (NaN-aware), so several samples of one problem count once;
    rows without a pair value are left out. For every measure of :data:`MEASURES` present in the rows: mean A,
    mean B and the collapse ratio mean_B / mean_A over the pairs where both are finite, a paired percentile
    bootstrap CI (:func:`reasongraph.stats.paired_ratio`), the Wilcoxon signed-rank p of B - A
    (``scipy.stats.wilcoxon``), n pairs, and a note saying why a statistic is NaN. Then token_collapse =
    1 - ratio(mean_entropy), hidden_collapse = 1 - ratio(erank_window), their difference (paired bootstrap and
    sign-flip p, over pairs where both measures are finite), and the median ``level_coupling`` of each group's
    rows.

    Parameters
    ----------
    rows : scored rows (dicts as in rows.jsonl).
    a, b : the values of ``group_field`` of the reference group and the compared group.
    group_field, pair_field : the row fields holding the group and the pair (problem) key.
    mode : how the groups were scored, e.g. "faithful" or "proxy: all groups scored by X"; passed through.
    n_boot, ci, seed : bootstrap settings (one seed for every measure; the sign-flip test uses it too).

    Returns
    -------
    CollapseTable

    Raises
    ------
    InputError : a group has no rows.
    """
    rows = list(rows)
    if not 0 < ci < 1:
        raise InputError(f"{opt('ci')} must be in (0, 1), got {ci!r}")
    if n_boot < 1:
        raise InputError(f"{opt('n_boot')} must be >= 1, got {n_boot!r}")
    members = {g: [r for r in rows if str(r.get(group_field)) == str(g)] for g in (a, b)}
    for g, group_rows in members.items():
        if not group_rows:
            known = sorted({str(r.get(group_field)) for r in rows})
            raise InputError(f"no rows with {group_field} = {g!r}; groups present: {', '.join(known) or 'none'}")
    present = {k for r in members[a] + members[b] for k, v in r.items() if v is not None}
    keys = [k for k in MEASURES if k in present]
    means = {g: pair_means(members[g], pair_field, keys) for g in (a, b)}
    pairs = sorted(set(means[a]) & set(means[b]))
    col = {g: np.array([means[g][p] for p in pairs], dtype=np.float64).reshape(len(pairs), len(keys))
           for g in (a, b)}
    by_key = {k: _measure_row(k, col[a][:, j], col[b][:, j], n_boot, ci, seed) for j, k in enumerate(keys)}

    missing = np.full(len(pairs), np.nan)
    h = [col[g][:, keys.index("mean_entropy")] if "mean_entropy" in keys else missing for g in (a, b)]
    e = [col[g][:, keys.index("erank_window")] if "erank_window" in keys else missing for g in (a, b)]
    return CollapseTable(
        a=str(a), b=str(b), mode=mode, n_pairs=len(pairs), rows=list(by_key.values()),
        token_collapse=_collapse(by_key.get("mean_entropy")),
        hidden_collapse=_collapse(by_key.get("erank_window")),
        difference=_difference(h[0], h[1], e[0], e[1], n_boot, ci, seed),
        coupling={str(g): _median(column(members[g], "level_coupling")) for g in (a, b)},
        ci=ci,
    )

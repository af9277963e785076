"""Summaries of scored rows per group, and two groups compared on the same problems.

The question a comparison answers: when model B (say RL-trained) has lower token entropy than model A (its
base) on the same problems, do its hidden states also revisit less, spread over fewer dimensions, form smaller
graphs? Rows are paired by a key (the problem); rows sharing a (group, key) are averaged first, so several
samples per problem count once. Each metric gets the mean paired difference B - A, a percentile bootstrap 95% CI
over pairs, and a two-sided Wilcoxon signed-rank test (scipy.stats.wilcoxon). Without a pair key the groups are
compared unpaired: difference of means, bootstrap resampling each group, and a Mann-Whitney U test.

All bootstraps are seeded (``seed``), so summaries and comparisons are reproducible.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from reasongraph.errors import InputError

# Fields of a row that identify it rather than measure it.
ID_KEYS = frozenset({"line", "id", "group", "pair", "trace_key"})

# What `compare` reports by default, in this order (those present in the rows). The forking share is the pooled
# one (one run-wide entropy threshold): a per-trace top-rho share is rho by construction and compares nothing.
COMPARE_METRICS = (
    "mean_entropy", "forking_share_pooled", "low_entropy_share", "effective_rank", "erv", "era",
    "loop_exists", "loop_count", "max_revisits", "n_revisits", "cycles_upto_k",
    "diameter", "diameter_hops", "small_world", "small_world_hops", "align_n_hidden_only",
    "n_tokens", "n_steps",
)

_BOOT_CHUNK = 1 << 20  # resampled values drawn per chunk, so memory stays bounded for large groups


def _numeric(value) -> float | None:
    """A row value as a float (bools as 0/1), None when not numeric."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return None


def numeric_metrics(rows: Iterable[dict]) -> list[str]:
    """Names of the numeric fields of ``rows`` (not the identifying ones), in first-seen order."""
    names: dict[str, None] = {}
    for row in rows:
        for k, v in row.items():
            if k not in ID_KEYS and k not in names and _numeric(v) is not None:
                names[k] = None
    return list(names)


def bootstrap_ci(x: Sequence[float] | np.ndarray, n_boot: int = 2000, ci: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``x``.

    Parameters
    ----------
    x : finite values (NaN must be dropped before).
    n_boot : number of resamples with replacement.
    ci : coverage, e.g. 0.95 for the 2.5th and 97.5th percentiles of the resampled means.
    seed : seeds ``numpy.random.default_rng``; the same seed gives the same interval.

    Returns
    -------
    (low, high); (nan, nan) for an empty ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if x.size == 0:
        return math.nan, math.nan
    means = _boot_means(x, n_boot, np.random.default_rng(seed))
    return _percentiles(means, ci)


def _boot_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    n = x.size
    per_chunk = max(1, _BOOT_CHUNK // n)
    out = np.empty(n_boot)
    for start in range(0, n_boot, per_chunk):
        stop = min(n_boot, start + per_chunk)
        out[start:stop] = x[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return out


def _percentiles(values: np.ndarray, ci: float) -> tuple[float, float]:
    alpha = (1 - ci) / 2
    lo, hi = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(lo), float(hi)


# ---------------------------------------------------------------------- summaries
@dataclass
class MetricSummary:
    """One metric over one group: finite values only (``n`` counts them)."""

    n: int
    mean: float
    median: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict:
        return asdict(self)


def summarize_values(x: Sequence[float] | np.ndarray, n_boot: int = 2000, ci: float = 0.95,
                     seed: int = 0) -> MetricSummary:
    """n, mean, median and bootstrap CI of the mean of the finite values of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return MetricSummary(0, math.nan, math.nan, math.nan, math.nan)
    lo, hi = bootstrap_ci(x, n_boot=n_boot, ci=ci, seed=seed)
    return MetricSummary(int(x.size), float(x.mean()), float(np.median(x)), lo, hi)


def summarize(rows: Iterable[dict], group_key: str | None = "group", metrics: Sequence[str] | None = None,
              n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> dict[str, dict]:
    """Per-group summary of scored rows.

    Parameters
    ----------
    rows : dicts as in rows.jsonl.
    group_key : the field to group by; None puts every row in one group ``"all"``. Rows without the field go
        to the group ``"None"``.
    metrics : fields to summarize; default every numeric field.
    n_boot, ci, seed : see :func:`bootstrap_ci` (one seed for every metric, so the same resamples are used).

    Returns
    -------
    ``{group: {"n": rows, "detection_ratio": share of rows with loop_exists (None without that field),
    "metrics": {name: MetricSummary.as_dict()}}}``, groups in sorted order.
    """
    rows = list(rows)
    names = list(metrics) if metrics is not None else numeric_metrics(rows)
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups["all" if group_key is None else str(row.get(group_key))].append(row)
    out = {}
    for g in sorted(groups):
        members = groups[g]
        columns = {m: _column(members, m) for m in names}
        loops = _column(members, "loop_exists")
        loops = loops[np.isfinite(loops)]
        out[g] = {
            "n": len(members),
            "detection_ratio": float(loops.mean()) if loops.size else None,
            "metrics": {m: summarize_values(columns[m], n_boot, ci, seed).as_dict() for m in names},
        }
    return out


def _column(rows: Sequence[dict], name: str) -> np.ndarray:
    vals = [_numeric(r.get(name)) for r in rows]
    return np.array([math.nan if v is None else v for v in vals], dtype=np.float64)


# ---------------------------------------------------------------------- comparisons
@dataclass
class MetricComparison:
    """Group B against group A on one metric.

    ``n`` counts pairs (paired) or finite values of A and B together (unpaired); ``diff`` is mean(B - A) paired,
    mean(B) - mean(A) unpaired; ``statistic`` and ``p_value`` come from ``test`` (NaN when it cannot run:
    fewer than one nonzero difference, or an empty group).
    """

    metric: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    test: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Comparison:
    """Two groups side by side: metadata and one :class:`MetricComparison` per metric."""

    a: str
    b: str
    group_key: str
    pair_key: str | None
    n_a: int
    n_b: int
    n_pairs: int | None
    detection_ratio_a: float | None
    detection_ratio_b: float | None
    metrics: list[MetricComparison] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["metrics"] = {m.metric: m.as_dict() for m in self.metrics}
        return d

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_table(self) -> str:
        """A plain-text table, one metric per line."""
        paired = self.pair_key is not None
        head = (f"{self.b} (B) vs {self.a} (A), grouped by {self.group_key}; "
                + (f"paired by {self.pair_key}: {self.n_pairs} pairs" if paired else "unpaired")
                + f"; rows A={self.n_a}, B={self.n_b}")
        det = (f"detection ratio (share of rows with loop_exists): A={_fmt(self.detection_ratio_a)} "
               f"B={_fmt(self.detection_ratio_b)}")
        cols = ["metric", "n", "mean A", "mean B", "B - A", "95% CI", "p (" + _test_name(self.metrics) + ")"]
        body = [[m.metric, str(m.n), _fmt(m.mean_a), _fmt(m.mean_b), _fmt(m.diff),
                 f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]", _fmt_p(m.p_value)] for m in self.metrics]
        widths = [max(len(r[i]) for r in [cols] + body) for i in range(len(cols))]
        fmt_row = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                      for i, (c, w) in enumerate(zip(r, widths)))
        lines = [head, det, "", fmt_row(cols), fmt_row(["-" * w for w in widths])]
        lines += [fmt_row(r) for r in body]
        return "\n".join(lines)


def _test_name(metrics: list[MetricComparison]) -> str:
    return metrics[0].test if metrics else "test"


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.4g}"


def _fmt_p(p: float) -> str:
    if p is None or math.isnan(p):
        return "-"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


def compare_groups(rows: Iterable[dict], a: str, b: str, group_key: str = "group", pair_key: str | None = "pair",
                   metrics: Sequence[str] | None = None, n_boot: int = 2000, ci: float = 0.95,
                   seed: int = 0) -> Comparison:
    """Compare group ``b`` against group ``a`` metric by metric.

    Parameters
    ----------
    rows : dicts as in rows.jsonl.
    a, b : the two values of ``group_key`` to compare (A is the reference: differences are B - A).
    group_key : the field holding the group.
    pair_key : the field pairing rows across groups (e.g. the problem); None compares unpaired.
    metrics : fields to compare; default those of :data:`COMPARE_METRICS` present in the rows.
    n_boot, ci, seed : bootstrap settings (see :func:`bootstrap_ci`).

    Raises
    ------
    InputError : a group has no rows, or no pair key is shared by both groups.
    """
    rows = list(rows)
    rows_a = [r for r in rows if str(r.get(group_key)) == a]
    rows_b = [r for r in rows if str(r.get(group_key)) == b]
    for name, members in ((a, rows_a), (b, rows_b)):
        if not members:
            known = sorted({str(r.get(group_key)) for r in rows})
            raise InputError(f"no rows with {group_key} = {name!r}; groups present: {', '.join(known)}")
    if metrics is None:
        present = set(numeric_metrics(rows))
        metrics = [m for m in COMPARE_METRICS if m in present]
    det = [_detection(rs) for rs in (rows_a, rows_b)]
    cmp = Comparison(a=a, b=b, group_key=group_key, pair_key=pair_key, n_a=len(rows_a), n_b=len(rows_b),
                     n_pairs=None, detection_ratio_a=det[0], detection_ratio_b=det[1])
    if pair_key is None:
        cmp.metrics = [_unpaired(m, _column(rows_a, m), _column(rows_b, m), n_boot, ci, seed) for m in metrics]
        return cmp
    means_a, means_b = _pair_means(rows_a, pair_key, metrics), _pair_means(rows_b, pair_key, metrics)
    keys = sorted(set(means_a) & set(means_b))
    if not keys:
        raise InputError(f"groups {a!r} and {b!r} share no {pair_key} value; nothing to pair "
                         "(compare unpaired by leaving the pair key out)")
    cmp.n_pairs = len(keys)
    for j, m in enumerate(metrics):
        xa = np.array([means_a[k][j] for k in keys])
        xb = np.array([means_b[k][j] for k in keys])
        cmp.metrics.append(_paired(m, xa, xb, n_boot, ci, seed))
    return cmp


def _detection(rows: Sequence[dict]) -> float | None:
    x = _column(rows, "loop_exists")
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else None


def _pair_means(rows: Sequence[dict], pair_key: str, metrics: Sequence[str]) -> dict[str, np.ndarray]:
    """Per pair key, the mean of each metric over that key's rows (NaN-aware; NaN when none is finite)."""
    by_key: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get(pair_key) is not None:
            by_key[str(r[pair_key])].append(r)
    out = {}
    for k, members in by_key.items():
        cols = np.array([_column(members, m) for m in metrics]).reshape(len(metrics), len(members))
        finite = np.isfinite(cols)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[k] = np.where(finite.any(axis=1), np.where(finite, cols, 0).sum(axis=1) / finite.sum(axis=1),
                              np.nan)
    return out


def _paired(metric: str, xa: np.ndarray, xb: np.ndarray, n_boot: int, ci: float, seed: int) -> MetricComparison:
    from scipy.stats import wilcoxon

    ok = np.isfinite(xa) & np.isfinite(xb)
    xa, xb = xa[ok], xb[ok]
    d = xb - xa
    if d.size == 0:
        return MetricComparison(metric, 0, *([math.nan] * 7), test="wilcoxon")
    lo, hi = bootstrap_ci(d, n_boot=n_boot, ci=ci, seed=seed)
    stat = p = math.nan
    if np.any(d != 0):
        res = wilcoxon(d)
        stat, p = float(res.statistic), float(res.pvalue)
    return MetricComparison(metric, int(d.size), float(xa.mean()), float(xb.mean()), float(d.mean()), lo, hi,
                            stat, p, test="wilcoxon")


def _unpaired(metric: str, xa: np.ndarray, xb: np.ndarray, n_boot: int, ci: float,
              seed: int) -> MetricComparison:
    from scipy.stats import mannwhitneyu

    xa, xb = xa[np.isfinite(xa)], xb[np.isfinite(xb)]
    n = int(xa.size + xb.size)
    if xa.size == 0 or xb.size == 0:
        ma = float(xa.mean()) if xa.size else math.nan
        mb = float(xb.mean()) if xb.size else math.nan
        return MetricComparison(metric, n, ma, mb, *([math.nan] * 5), test="mannwhitneyu")
    rng = np.random.default_rng(seed)
    diffs = _boot_means(xb, n_boot, rng) - _boot_means(xa, n_boot, rng)
    lo, hi = _percentiles(diffs, ci)
    res = mannwhitneyu(xb, xa, alternative="two-sided")
    return MetricComparison(metric, n, float(xa.mean()), float(xb.mean()), float(xb.mean() - xa.mean()), lo, hi,
                            float(res.statistic), float(res.pvalue), test="mannwhitneyu")

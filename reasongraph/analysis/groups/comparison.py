"""Two groups of scored rows compared metric by metric, on the same problems.

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
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from reasongraph.analysis.catalogue import compare_keys
from reasongraph.analysis.groups.options import CompareOptions
from reasongraph.analysis.groups.per_group import (FEWER_THAN_2, ON_POLICY, column, detection, numeric_metrics,
                                                   pair_means)
from reasongraph.core.display import fmt, fmt_ci, fmt_p, text_table
from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import given_or_keywords
from reasongraph.stats.bootstrap import bootstrap_ci, bootstrap_difference_ci
from reasongraph.stats.control_share import control_share

__all__ = ["Comparison", "MetricComparison", "compare_groups", "comparison_mode", "with_reference_share"]


@dataclass
class MetricComparison:
    """Group B against group A on one metric.

    ``n`` counts pairs (paired) or finite values of A and B together (unpaired); ``diff`` is mean(B - A) paired,
    mean(B) - mean(A) unpaired; ``statistic`` and ``p_value`` come from ``test`` (NaN when it cannot run:
    fewer than one nonzero difference, or an empty group); ``note`` says why a statistic is NaN (a paired one
    needs at least 2 pairs). With a control group C, ``control_share`` is (A - B) / (A - C), the share of the
    control's range that B's change covers (:func:`reasongraph.stats.control_share.control_share`: over pairs shared by
    the three groups, with a bootstrap CI; unpaired, from the three means, without one); NaN without a control.
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
    note: str = ""
    control_share: float = math.nan
    control_ci_low: float = math.nan
    control_ci_high: float = math.nan

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Comparison:
    """Two groups side by side: metadata and one :class:`MetricComparison` per metric.

    ``group_field`` and ``pair_field`` are the row fields that held the groups and the pairing;
    ``group_name`` and ``pair_name`` the names to show for them (the input's field names, when the rows are a
    run's, whose columns are always "group" and "pair").
    """

    a: str
    b: str
    group_field: str
    pair_field: str | None
    n_a: int
    n_b: int
    n_pairs: int | None
    detection_ratio_a: float | None
    detection_ratio_b: float | None
    metrics: list[MetricComparison] = field(default_factory=list)
    group_name: str | None = None
    pair_name: str | None = None
    mode: str | None = None
    control: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["metrics"] = {m.metric: m.as_dict() for m in self.metrics}
        return d

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_table(self) -> str:
        """A plain-text table, one metric per line."""
        groups = f"groups from field {self.group_name or self.group_field!r}"
        how = (f"{self.n_pairs} pairs matched on field {self.pair_name or self.pair_field!r}"
               if self.pair_field is not None else "unpaired")
        head = f"{self.b} (B) vs {self.a} (A): {how}, {groups}; rows A={self.n_a}, B={self.n_b}"
        if self.mode:
            head += f"\nscored: {self.mode}"
        det = (f"detection ratio (share of rows with loop_exists): A={fmt(self.detection_ratio_a, digits=4)} "
               f"B={fmt(self.detection_ratio_b, digits=4)}")
        test = self.metrics[0].test if self.metrics else "test"
        cols = ["metric", "n", "mean A", "mean B", "B - A", "95% CI", f"p ({test})"]
        body = [[m.metric, str(m.n), fmt(m.mean_a, digits=4), fmt(m.mean_b, digits=4), fmt(m.diff, digits=4),
                 fmt_ci(m.ci_low, m.ci_high, digits=4), fmt_p(m.p_value)] for m in self.metrics]
        if self.control is not None:
            cols.append(f"(A-B)/(A-C), C = {self.control}")
            body = [row + [f"{fmt(m.control_share, digits=4)} {fmt_ci(m.control_ci_low, m.control_ci_high, digits=4)}"]
                    for row, m in zip(body, self.metrics)]
        if any(m.note for m in self.metrics):
            cols.append("note")
            body = [row + [m.note] for row, m in zip(body, self.metrics)]
        return "\n".join([head, det, "", text_table(cols, body, rule=True)])


def compare_groups(rows: Iterable[dict], a: str, b: str, *, options: CompareOptions | None = None,
                   **keywords: Any) -> Comparison:
    """Compare group ``b`` against group ``a`` metric by metric.

    Parameters
    ----------
    rows : dicts as in rows.jsonl.
    a, b : the two values of ``group_field`` to compare (A is the reference: differences are B - A).
    options : a :class:`~reasongraph.analysis.groups.options.CompareOptions` holding the options below, instead of
        them as keywords (not both).
    group_field : the field holding the group.
    pair_field : the field pairing rows across groups (e.g. the problem); None compares unpaired.
    metrics : fields to compare; default the catalogue's compare set
        (:func:`reasongraph.analysis.catalogue.compare_keys`)
        present in the rows.
    control : a third group C of known collapse (the base at a low temperature, one-template samples): each
        metric also gets (A - B) / (A - C), the share of the control's range B covers.
    n_boot, ci, seed : bootstrap settings (see :func:`reasongraph.stats.bootstrap.bootstrap_ci`).

    Raises
    ------
    InputError : a group (the control included) has no rows, no pair is shared by both groups, a metric is no
        numeric field of the rows, or a bootstrap setting is out of range.
    """
    rows = _check_rows(rows)
    o = given_or_keywords(CompareOptions, options, keywords, "options")
    group_field, pair_field, metrics, control = o.group_field, o.pair_field, o.metrics, o.control
    n_boot, ci, seed = o.n_boot, o.ci, o.seed
    if a == b:
        raise InputError(f"{opt('a')} and {opt('b')} name the same group {a!r}; compare two different groups")
    if control is not None and control in (a, b):
        raise InputError(f"{opt('control')} {control!r} is group A or B; name a third group of known collapse")
    rows_a = [r for r in rows if str(r.get(group_field)) == a]
    rows_b = [r for r in rows if str(r.get(group_field)) == b]
    rows_c = [r for r in rows if str(r.get(group_field)) == control] if control is not None else []
    for name, members in ((a, rows_a), (b, rows_b)) + (((control, rows_c),) if control is not None else ()):
        if not members:
            known = sorted({str(r.get(group_field)) for r in rows})
            raise InputError(f"no rows with {group_field} = {name!r}; groups present: {', '.join(known)}")
    present = numeric_metrics(rows)
    if metrics is None:
        metrics = [m for m in compare_keys() if m in set(present)]
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in present]
    if unknown:
        raise InputError(f"{opt('metrics')}: no numeric field {', '.join(map(repr, unknown))} in the rows; "
                         f"fields: {', '.join(present)}")
    det = [_ratio(*detection(rs)) for rs in (rows_a, rows_b)]
    cmp = Comparison(a=a, b=b, group_field=group_field, pair_field=pair_field, n_a=len(rows_a), n_b=len(rows_b),
                     n_pairs=None, detection_ratio_a=det[0], detection_ratio_b=det[1], control=control)
    if pair_field is None:
        cmp.metrics = [_unpaired(m, column(rows_a, m), column(rows_b, m), n_boot, ci, seed) for m in metrics]
        if control is not None:
            for mc in cmp.metrics:
                mc.control_share = _unpaired_share(mc, column(rows_c, mc.metric))
        return cmp
    means_a, means_b = pair_means(rows_a, pair_field, metrics), pair_means(rows_b, pair_field, metrics)
    keys = sorted(set(means_a) & set(means_b))
    if not keys:
        raise InputError(f"groups {a!r} and {b!r} share no {pair_field} value; nothing to pair "
                         "(compare unpaired by leaving the pair field out)")
    cmp.n_pairs = len(keys)
    means_c = pair_means(rows_c, pair_field, metrics) if control is not None else {}
    triple = [k for k in keys if k in means_c]
    for j, m in enumerate(metrics):
        xa = np.array([means_a[k][j] for k in keys])
        xb = np.array([means_b[k][j] for k in keys])
        mc = _paired(m, xa, xb, n_boot, ci, seed)
        if control is not None:
            share = control_share(*(np.array([means[k][j] for k in triple]) for means in (means_a, means_b, means_c)),
                                  n_boot=n_boot, ci=ci, seed=seed)
            mc.control_share, mc.control_ci_low, mc.control_ci_high = share["value"], share["ci_low"], share["ci_high"]
        cmp.metrics.append(mc)
    return cmp


def _unpaired_share(mc: MetricComparison, xc: np.ndarray) -> float:
    """(mean A - mean B) / (mean A - mean C) from the groups' means (unpaired: no interval)."""
    xc = xc[np.isfinite(xc)]
    if not xc.size or not math.isfinite(mc.mean_a) or mc.mean_a == xc.mean():
        return math.nan
    return float((mc.mean_a - mc.mean_b) / (mc.mean_a - xc.mean()))


def _check_rows(rows: Any) -> list[dict]:
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise InputError(f"{opt('rows')} must be a list of row dicts (as in rows.jsonl), got {type(rows).__name__}")
    rows = list(rows)
    bad = next((i for i, r in enumerate(rows) if not isinstance(r, Mapping)), None)
    if bad is not None:
        raise InputError(f"{opt('rows')}: row {bad} is a {type(rows[bad]).__name__}, not a dict")
    return rows


def comparison_mode(rows: Iterable[dict], a: str, b: str, *, group_field: str = CompareOptions.group_field
                    ) -> str | None:
    """How groups A and B were scored, from the rows: on-policy
    (:data:`reasongraph.analysis.groups.per_group.ON_POLICY`) when every row says it was scored by the model and
    temperature that sampled it; else, from ``scored_by``, "faithful" when each group was scored by a model of its
    own, "proxy: all groups scored by X" when both by one model X; None when the rows do not say."""
    rows = [r for r in rows if str(r.get(group_field)) in (a, b)]
    if rows and all(r.get("on_policy") for r in rows):
        return ON_POLICY
    models = {g: {r.get("scored_by") for r in rows if str(r.get(group_field)) == g} for g in (a, b)}
    if any(None in m or not m for m in models.values()):
        return None
    if len(models[a]) == len(models[b]) == 1 and models[a] != models[b]:
        return "faithful"
    if models[a] == models[b] and len(models[a]) == 1:
        return f"proxy: all groups scored by {next(iter(models[a]))}"
    return "mixed: " + "; ".join(f"{g} scored by {', '.join(sorted(m))}" for g, m in models.items())


def with_reference_share(rows: Iterable[dict], a: str) -> list[dict]:
    """Rows with ``forking_share_ref``: the share of each trace's tokens above the run group A's pooled forking
    threshold, read from the row's ``forking_share_by_group`` (NaN when the row lacks it)."""
    out = []
    for r in rows:
        shares = r.get("forking_share_by_group")
        ref = shares.get(a, math.nan) if isinstance(shares, dict) else math.nan
        out.append({**r, "forking_share_ref": ref})
    return out


def _ratio(k: int, n: int) -> float | None:
    return k / n if n else None


def _paired(metric: str, xa: np.ndarray, xb: np.ndarray, n_boot: int, ci: float, seed: int) -> MetricComparison:
    from scipy.stats import wilcoxon

    ok = np.isfinite(xa) & np.isfinite(xb)
    xa, xb = xa[ok], xb[ok]
    d = xb - xa
    if d.size < 2:  # one pair gives a zero-width bootstrap interval and a meaningless p: say so instead
        mean_a, mean_b, diff = (float(v[0]) if v.size else math.nan for v in (xa, xb, d))
        return MetricComparison(metric, int(d.size), mean_a, mean_b, diff, *([math.nan] * 4), test="wilcoxon",
                                note=FEWER_THAN_2)
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
    lo, hi = bootstrap_difference_ci(xa, xb, n_boot=n_boot, ci=ci, seed=seed)
    res = mannwhitneyu(xb, xa, alternative="two-sided")
    return MetricComparison(metric, n, float(xa.mean()), float(xb.mean()), float(xb.mean() - xa.mean()), lo, hi,
                            float(res.statistic), float(res.pvalue), test="mannwhitneyu")

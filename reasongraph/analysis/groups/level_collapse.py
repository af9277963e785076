"""Where does entropy collapse? The level-collapse table of a reference group A and a trained group B.

RL training makes the token entropy of a policy collapse; the seed question is whether its hidden states
collapse as much. For the same problems (pairs) scored in group A (a base model, an earlier checkpoint) and
group B (RL-trained, distilled), each measure of the token level and of the hidden level gets its collapse
ratio mean_B / mean_A over pairs, with a paired bootstrap CI and a Wilcoxon signed-rank test. Per-trace measures
come from the scored rows; the cross-sample spread of each prompt's samples
(:mod:`reasongraph.analysis.samples.spread`) from the per-prompt rows of diversity.jsonl, paired by problem too.

Three collapses summarize the levels: token_collapse = 1 - ratio(H_mean); hidden_collapse_erank = 1 -
ratio(erank_window), the spread within one trajectory (named ``hidden_collapse`` before the spread existed; it is
blind to one-template samples); hidden_collapse_spread = 1 - ratio(cosine_spread), the spread across a prompt's
samples, which falls on the template control. The seed's claim is token_collapse > hidden collapse, so each
difference gets a paired bootstrap CI and a sign-flip p-value; with a control group C of known collapse each
collapse is also a share of its control's range, (A - B) / (A - C) (:mod:`reasongraph.stats.control_share`). The
comparison is faithful only when each group was scored by the model that wrote it (``mode`` says which was done).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reasongraph.analysis.groups.level_collapse_pairs import (PROMPT_MEASURES, group_prompt_rows, group_rows,
                                                              left_out_note, pair_columns, window_note)
from reasongraph.analysis.groups.level_collapse_text import interval_text, saturation_text, variance_note
from reasongraph.analysis.groups.options import CompareOptions
from reasongraph.analysis.groups.per_group import FEWER_THAN_2, column, pair_means
from reasongraph.analysis.groups.pooled_alignment import spike_rate
from reasongraph.core.display import fmt, fmt_ci, fmt_p
from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import given_or_keywords
from reasongraph.stats.bootstrap import bootstrap_interval
from reasongraph.stats.control_share import control_share
from reasongraph.stats.paired import paired_ratio, sign_flip_p

__all__ = ["COLLAPSES", "CollapseRow", "CollapseTable", "MEASURES", "RENAMED", "collapse_table"]


#: The measures of the table, in order: row key -> (level, label).
MEASURES: dict[str, tuple[str, str]] = {
    "mean_entropy": ("token", "H_mean (mean token entropy, nats)"),
    "low_entropy_share": ("token", "H_low_share (share of tokens with H < 0.01)"),
    "forking_share_ref": ("token", "forking share above A's top-20% threshold"),
    "onset_entropy_mean": ("token", "onset entropy (mean over steps, nats)"),
    "erank_window": ("hidden", "effective rank (mean over 128-token windows)"),
    "erank_window_norm": ("hidden", "effective rank over its bound min(W-1, d)"),
    "spectral_entropy_window": ("hidden", "spectral entropy (128-token windows, nats)"),
    "erv": ("hidden", "ERV (effective-rank velocity)"),
    "era": ("hidden", "ERA (effective-rank acceleration)"),
    "cosine_spread": ("hidden", "cross-sample cosine spread (per prompt)"),
    "spread_variance": ("hidden", "cross-sample variance (per prompt)"),
    "node_entropy": ("hidden", "node entropy of a prompt's samples (nats)"),
    "node_information": ("hidden", "node information, sample x node (nats)"),
    "revisits_per_step": ("hidden", "revisits per step"),
    "loop_exists": ("hidden", "loop exists (share of traces)"),
    "loop_count": ("hidden", "loop count"),
    "visit_gini": ("hidden", "visit concentration: Gini of node visits"),
    "visit_decay": ("hidden", "visit concentration: rank-frequency decay"),
}
#: The measures over W-token windows: NaN for a trace shorter than W, which the table's note counts.
_WINDOW_MEASURES = ("erank_window", "erank_window_norm", "spectral_entropy_window")
#: The summary's collapses: key -> (the measure whose ratio it is 1 minus, its line in the text table).
COLLAPSES: dict[str, tuple[str, str]] = {
    "token_collapse": ("mean_entropy", "token collapse 1 - H_mean ratio"),
    "hidden_collapse_erank": ("erank_window", "hidden collapse 1 - erank_window ratio (one trajectory)"),
    "hidden_collapse_spread": ("cosine_spread", "hidden collapse 1 - cosine spread ratio (across samples)"),
}
#: Summary keys renamed when the cross-sample spread came (the old names are gone, so that nothing silently
#: changes meaning): old -> new.
RENAMED = {"hidden_collapse": "hidden_collapse_erank", "difference": "difference_erank"}


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
    """The level-collapse table of group B against group A (see :func:`collapse_table`).

    ``collapses``: {:data:`COLLAPSES` key: {value, ci_low, ci_high}}; ``differences``: {``difference_erank``,
    ``difference_spread``: token_collapse minus that hidden collapse, {value, ci_low, ci_high, p}};
    ``control``: None, or {"group": C, each collapse key: {value, ci_low, ci_high, n}} its share of the control's
    range; ``saturation``: {group: spike rate under the token-relative rule, pooled, and its near-saturated flag}.
    """

    a: str
    b: str
    mode: str | None
    n_pairs: int
    rows: list[CollapseRow]
    collapses: dict[str, dict[str, float]]
    differences: dict[str, dict[str, float]]
    coupling: dict[str, float | None] = field(default_factory=dict)
    coupling_n: dict[str, int] = field(default_factory=dict)  # the traces behind each group's median coupling
    control: dict[str, Any] | None = None
    saturation: dict[str, dict[str, Any]] = field(default_factory=dict)
    ci: float = 0.95

    @property
    def token_collapse(self) -> dict[str, float]:
        return self.collapses["token_collapse"]

    @property
    def hidden_collapse_erank(self) -> dict[str, float]:
        return self.collapses["hidden_collapse_erank"]

    @property
    def hidden_collapse_spread(self) -> dict[str, float]:
        return self.collapses["hidden_collapse_spread"]

    def as_dict(self) -> dict[str, Any]:
        """The structure the HTML report draws (NaN stays NaN)."""
        return {"a": self.a, "b": self.b, "mode": self.mode, "n_pairs": self.n_pairs,
                "rows": [r.as_dict() for r in self.rows],
                "summary": {**{k: dict(v) for k, v in self.collapses.items()},
                            **{k: dict(v) for k, v in self.differences.items()},
                            "control_share": self.control, "renamed": dict(RENAMED)},
                "saturation": {g: dict(v) for g, v in self.saturation.items()},
                "coupling": dict(self.coupling), "coupling_n": dict(self.coupling_n)}

    def to_table(self) -> str:
        """Plain text for the terminal: token rows, hidden rows, then the summary lines."""
        head = f"where entropy collapses: {self.b} (B) vs {self.a} (A), {self.n_pairs} pairs"
        if self.mode:
            head += f"; {self.mode}"
        cols = ["level", "measure", "n", "mean A", "mean B", "B/A", f"{self.ci:.0%} CI", "p (wilcoxon)", "note"]
        body = []
        for level in ("token", "hidden"):
            for r in (r for r in self.rows if r.level == level):
                body.append([level, r.label, str(r.n), *(fmt(v, digits=4) for v in (r.mean_a, r.mean_b, r.ratio)),
                             fmt_ci(r.ci_low, r.ci_high, digits=4), fmt_p(r.p), r.note])
        widths = [max(len(row[i]) for row in [cols] + body) for i in range(len(cols))]

        def line(row: list[str]) -> str:
            return "  ".join(c.ljust(w) if i in (0, 1, len(cols) - 1) else c.rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip()

        return "\n".join([head, "", line(cols), line(["-" * w for w in widths]), *(line(r) for r in body), "",
                          *self._summary_lines()])

    def _summary_lines(self) -> list[str]:
        labels = [label for _, label in COLLAPSES.values()] + [f"token - {k.removeprefix('difference_')} collapse"
                                                             for k in self.differences]
        width = max(len(x) for x in labels) + 2
        lines = [f"{label + ':':<{width}}{interval_text(self.collapses[k])}" for k, (_, label) in COLLAPSES.items()]
        for k, d in self.differences.items():
            label = f"token - hidden collapse ({k.removeprefix('difference_')})"
            lines.append(f"{label + ':':<{width}}{interval_text(d)}  sign-flip p = {fmt_p(d['p'])}")
        lines.append(_control_line(self.control))
        lines.append("(hidden_collapse is now hidden_collapse_erank: the cross-sample spread gave the hidden level a "
                     "second collapse)")
        if self.saturation:
            lines.append("token-relative spike rate (steps with an onset spike; > 0.8 near-saturated): "
                         + ", ".join(f"{g} {saturation_text(s)}" for g, s in self.saturation.items()))
        if self.coupling:
            lines.append("level coupling (median Spearman, window entropy vs effective rank): "
                         + ", ".join(f"{g} {fmt(v, digits=4)}{_n_note(self.coupling_n.get(g))}"
                                     for g, v in self.coupling.items()))
        return lines


# ---------------------------------------------------------------------- the statistics of one measure
def _control_line(control: Mapping[str, Any] | None) -> str:
    if control is None:
        return "share of the control's range (A - B) / (A - C): n/a (no control group named)"
    parts = [f"{k.replace('_collapse', '').replace('hidden_', 'hidden ')} {interval_text(control[k])}"
             for k in COLLAPSES]
    return f"share of the control's range (A - B) / (A - C), C = {control['group']}: " + ", ".join(parts)


def _measure_row(key: str, xa: np.ndarray, xb: np.ndarray, n_boot: int, ci: float, seed: int,
                 extra_notes: Sequence[str] = ()) -> CollapseRow:
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
    if key == "spread_variance" and math.isfinite(ratio) and ratio >= 0:
        notes.append(variance_note(ratio))
    return CollapseRow(key=key, label=label, level=level, mean_a=mean_a, mean_b=mean_b, ratio=ratio, ci_low=lo,
                       ci_high=hi, p=p, n=n, note="; ".join([*notes, *extra_notes]))


def _collapse(row: CollapseRow | None) -> dict[str, float]:
    """1 - ratio, with the interval flipped accordingly."""
    if row is None:
        return {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    return {"value": 1 - row.ratio, "ci_low": 1 - row.ci_high, "ci_high": 1 - row.ci_low}


def _difference(ha: np.ndarray, hb: np.ndarray, ea: np.ndarray, eb: np.ndarray, n_boot: int, ci: float,
                seed: int) -> dict[str, float]:
    """token_collapse - a hidden collapse = ratio(hidden measure) - ratio(H) over pairs where all four values are
    finite.

    The bootstrap resamples those pairs and recomputes both ratios of means; the sign-flip test asks whether the
    per-pair differences e_b/e_a - H_b/H_a are centered on 0.
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


def _n_note(n: int | None) -> str:
    return "" if n is None else f" (n = {n} traces{', small sample' if n < 5 else ''})"


def _median(values: list[float]) -> float | None:
    x = np.array(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else None


def collapse_table(rows: Iterable[Mapping[str, Any]], a: str, b: str, *,
                   prompt_rows: Iterable[Mapping[str, Any]] | None = None, mode: str | None = None,
                   options: CompareOptions | None = None, **keywords: Any) -> CollapseTable:
    """The level-collapse table of group ``b`` against the reference group ``a``, paired by problem.

    Rows sharing a (group, pair) are averaged first (NaN-aware), so several samples of one problem count once;
    rows without a pair value are left out. For every measure of :data:`MEASURES` present in the rows: mean A,
    mean B and the collapse ratio mean_B / mean_A over the pairs where both are finite, a paired percentile
    bootstrap CI (:func:`reasongraph.stats.paired.paired_ratio`), the Wilcoxon signed-rank p of B - A
    (``scipy.stats.wilcoxon``), n pairs, and a note saying why a statistic is NaN (or, for the window measures,
    how many traces were shorter than the window; for the variance, its ratio in standard deviation). Then the
    three :data:`COLLAPSES`, each hidden collapse's difference from token_collapse (paired bootstrap and sign-flip
    p, over pairs where both measures are finite), the share of each collapse in its control's range when
    ``control`` is named, the token-relative spike rate of each group (pooled over its traces, flagged above 0.8),
    and the median ``level_coupling`` of each group's rows.

    Parameters
    ----------
    rows : scored rows (dicts as in rows.jsonl).
    a, b : the values of ``group_field`` of the reference group and the compared group.
    group_field, pair_field : the row fields holding the group and the pair (problem) key.
    prompt_rows : the per-prompt rows (diversity.jsonl: ``group``, ``sample_group``, ``pair`` and the measures of
        :func:`reasongraph.analysis.samples.spread.prompt_spread`), for the cross-sample rows; paired by their
        ``pair_field`` value, else by ``sample_group``.
    control : a third group C of known collapse (the same policy at a low temperature, one-template samples): each
        collapse is also given as (A - B) / (A - C) over pairs shared by the three groups.
    mode : how the groups were scored, e.g. "faithful" or "proxy: all groups scored by X"; passed through.
    n_boot, ci, seed : bootstrap settings (one seed for every measure; the sign-flip test uses it too).
    options : the options above as one :class:`~reasongraph.analysis.groups.options.CompareOptions` (not both).

    Returns
    -------
    CollapseTable

    Raises
    ------
    InputError : a group (the control included) has no rows.
    """
    rows, o = list(rows), given_or_keywords(CompareOptions, options, keywords, "options")
    group_field, pair_field, control, n_boot, ci, seed = (o.group_field, o.pair_field, o.control, o.n_boot, o.ci,
                                                          o.seed)
    if control is not None and str(control) in (str(a), str(b)):
        raise InputError(f"{opt('control')} {control!r} is group A or B; name a third group of known collapse")
    groups = [a, b] + ([control] if control is not None else [])
    members = group_rows(rows, group_field, groups)
    prompts = group_prompt_rows(list(prompt_rows or []), group_field, pair_field, groups)
    present = {k for rs in (*members.values(), *prompts.values()) for r in rs for k, v in r.items() if v is not None}
    keys = [k for k in MEASURES if k in present]
    trace_pairs = [set(pair_means(members[g], pair_field, [])) for g in (a, b)]
    prompt_pairs = [{str(r["_pair"]) for r in prompts[g] if r["_pair"] is not None} for g in (a, b)]
    pairs = sorted((trace_pairs[0] | prompt_pairs[0]) & (trace_pairs[1] | prompt_pairs[1]))
    col = pair_columns(members, prompts, keys, pair_field, pairs)
    compared = {g: members[g] for g in (a, b)}
    left_out = left_out_note({g: prompts[g] for g in (a, b)})
    notes = {k: [window_note(compared, k)] if k in _WINDOW_MEASURES else [left_out] if k in PROMPT_MEASURES
             else [] for k in keys}
    notes = {k: [n for n in v if n] for k, v in notes.items()}
    by_key = {k: _measure_row(k, col[a][:, j], col[b][:, j], n_boot, ci, seed, notes[k]) for j, k in enumerate(keys)}

    def values(g: str, key: str) -> np.ndarray:
        return col[g][:, keys.index(key)] if key in keys else np.full(len(pairs), np.nan)

    h = [values(g, "mean_entropy") for g in (a, b)]
    differences = {f"difference_{k.removeprefix('hidden_collapse_')}":
                   _difference(h[0], h[1], values(a, m), values(b, m), n_boot, ci, seed)
                   for k, (m, _) in COLLAPSES.items() if k != "token_collapse"}
    share = None
    if control is not None:
        triple = sorted(set(pairs) & (set(pair_means(members[control], pair_field, [])) |
                                      {str(r["_pair"]) for r in prompts[control] if r["_pair"] is not None}))
        ccol = pair_columns(members, prompts, keys, pair_field, triple)
        share = {"group": str(control), **{
            k: control_share(*(ccol[g][:, keys.index(m)] if m in keys else np.full(len(triple), np.nan)
                               for g in (a, b, control)), n_boot=n_boot, ci=ci, seed=seed)
            for k, (m, _) in COLLAPSES.items()}}
    rates = {str(g): spike_rate(members[g]) for g in groups}
    return CollapseTable(
        a=str(a), b=str(b), mode=mode, n_pairs=len(trace_pairs[0] & trace_pairs[1]), rows=list(by_key.values()),
        collapses={k: _collapse(by_key.get(m)) for k, (m, _) in COLLAPSES.items()},
        differences=differences, control=share,
        saturation={g: r for g, r in rates.items() if r["n_traces"]},
        coupling={str(g): _median(column(members[g], "level_coupling")) for g in (a, b)},
        coupling_n={str(g): int(np.isfinite(np.array(column(members[g], "level_coupling"), dtype=np.float64)).sum())
                    for g in (a, b)},
        ci=ci,
    )

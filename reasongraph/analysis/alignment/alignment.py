"""The result of aligning revisits with entropy spikes (:class:`Alignment`)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from reasongraph.analysis.alignment.onset_relative import RelativeAlignment, near_saturated
from reasongraph.stats.two_by_two import TwoByTwo

__all__ = ["Alignment", "enrichment_ratio", "two_by_two_counts"]


@dataclass(eq=False)
class Alignment:
    """Step-level alignment of revisit events, entropy spikes and (optionally) aha markers, for one trace.

    Attributes
    ----------
    rule : the spike rule, "onset" or "span" (see :func:`align`).
    revisit_spike : the table revisit yes/no (rows) x spike yes/no (columns), counting steps, with its odds
        ratio and Fisher p-values; also readable as ``table``, ``odds_ratio``, ``odds_ratio_corrected``,
        ``fisher_p``, ``fisher_p_greater``.
    enrichment : P(spike | revisit) / P(spike | no revisit); NaN when a row is empty or no non-revisit step has
        a spike.
    p_value : rule "span" only: one-sided circular-shift permutation p-value of the number of revisit steps
        with a spike; NaN for rule "onset", and when not computed (n_shifts = 0, fewer than 2 tokens, no revisit).
    hidden_only : step indices of revisits without a spike.
    token_only : step indices of steps with a spike that are not revisits.
    hidden_only_share : hidden-only / revisits; NaN without a revisit.
    step_spikes : (n_steps,) bool, whether each step has a spike under ``rule``.
    onset_entropy : (n_steps,) onset entropy of each step (computed for both rules; NaN for an empty window).
    onset_fork_rate : share of steps with an onset spike (whatever ``rule``); NaN without a step.
    onset_fork_null : the share expected if onset tokens were ordinary tokens, 1 - (1 - rho)^(m + w); NaN when
        the spikes did not come from a top-rho threshold (an absolute threshold or a given spike mask).
    threshold : the entropy threshold spikes were cut at (NaN when a spike mask was given).
    marker_revisit : rows revisit yes/no, columns marker yes/no; None without markers.
    marker_spike : rows marker yes/no, columns spike yes/no; None without markers.
    relative : revisits against the onset-relative rule (:mod:`reasongraph.analysis.alignment.onset_relative`),
        reported beside
        ``rule``; None when not computed.
    """

    rule: str
    revisit_spike: TwoByTwo
    enrichment: float
    p_value: float
    hidden_only: np.ndarray
    token_only: np.ndarray
    hidden_only_share: float
    step_spikes: np.ndarray
    onset_entropy: np.ndarray
    onset_fork_rate: float
    onset_fork_null: float
    threshold: float
    marker_revisit: TwoByTwo | None = None
    marker_spike: TwoByTwo | None = None
    relative: RelativeAlignment | None = None

    @property
    def spike_rate(self) -> float:
        """Share of steps with a spike under ``rule``; NaN without a step. Above
        :data:`~reasongraph.analysis.alignment.onset_relative.NEAR_SATURATED` the rule is near-saturated."""
        return float(self.step_spikes.mean()) if self.step_spikes.size else math.nan

    @property
    def table(self) -> np.ndarray:
        """(2, 2) int, rows revisit yes/no, columns spike yes/no."""
        return self.revisit_spike.table

    @property
    def odds_ratio(self) -> float:
        return self.revisit_spike.odds_ratio

    @property
    def odds_ratio_corrected(self) -> bool:
        return self.revisit_spike.odds_ratio_corrected

    @property
    def fisher_p(self) -> float:
        return self.revisit_spike.fisher_p

    @property
    def fisher_p_greater(self) -> float:
        return self.revisit_spike.fisher_p_greater

    @property
    def marker_revisit_table(self) -> np.ndarray | None:
        return None if self.marker_revisit is None else self.marker_revisit.table

    @property
    def marker_spike_table(self) -> np.ndarray | None:
        return None if self.marker_spike is None else self.marker_spike.table

    def as_dict(self) -> dict[str, Any]:
        """Flat JSON-able summary (the row fields of scored datasets); marker fields are None without markers.

        Keys: ``align_rule``; the cells ``align_{revisit,norevisit}_{spike,nospike}``; ``align_odds_ratio``,
        ``align_odds_ratio_corrected``, ``align_fisher_p``, ``align_fisher_p_greater``, ``align_enrichment``,
        ``align_p_value``, ``align_n_hidden_only``, ``align_n_token_only``, ``align_hidden_only_share``,
        ``align_onset_fork_rate``, ``align_onset_fork_null``, ``align_spike_threshold``,
        ``onset_entropy_mean`` (mean over steps with a defined onset entropy); ``align_spike_rate`` (steps with a
        spike under ``rule``, a share) and ``align_near_saturated`` (that share above 0.8); the onset-relative
        rule's ``align_rel_*`` (:meth:`reasongraph.analysis.alignment.onset_relative.RelativeAlignment.as_dict`); the
        marker cells ``align_{revisit,norevisit}_{marker,nomarker}`` and ``align_{marker,nomarker}_{spike,nospike}``,
        and ``marker_revisit_*`` / ``marker_spike_*`` with ``odds_ratio``, ``odds_ratio_corrected``, ``fisher_p``,
        ``fisher_p_greater``.
        """
        onset = self.onset_entropy[np.isfinite(self.onset_entropy)]
        out: dict[str, Any] = {"align_rule": self.rule}
        out.update(_cells(self.revisit_spike, ("revisit", "norevisit"), ("spike", "nospike")))
        out.update(_statistics(self.revisit_spike, "align"))
        out.update({
            "align_enrichment": float(self.enrichment),
            "align_p_value": float(self.p_value),
            "align_n_hidden_only": int(self.hidden_only.size),
            "align_n_token_only": int(self.token_only.size),
            "align_hidden_only_share": float(self.hidden_only_share),
            "align_onset_fork_rate": float(self.onset_fork_rate),
            "align_onset_fork_null": float(self.onset_fork_null),
            "align_spike_threshold": float(self.threshold),
            "onset_entropy_mean": float(onset.mean()) if onset.size else math.nan,
            "align_spike_rate": self.spike_rate,
            "align_near_saturated": near_saturated(self.spike_rate),
        })
        if self.relative is not None:
            out.update(self.relative.as_dict())
        out.update(_cells(self.marker_revisit, ("revisit", "norevisit"), ("marker", "nomarker")))
        out.update(_cells(self.marker_spike, ("marker", "nomarker"), ("spike", "nospike")))
        out.update(_statistics(self.marker_revisit, "marker_revisit"))
        out.update(_statistics(self.marker_spike, "marker_spike"))
        return out


def _cells(t: TwoByTwo | None, rows: tuple[str, str], cols: tuple[str, str]) -> dict[str, int | None]:
    return {f"align_{r}_{c}": None if t is None else int(t.table[i, j])
            for i, r in enumerate(rows) for j, c in enumerate(cols)}


def _statistics(t: TwoByTwo | None, prefix: str) -> dict[str, Any]:
    if t is not None:
        return t.stats_dict(prefix)
    return dict.fromkeys(f"{prefix}_{k}" for k in ("odds_ratio", "odds_ratio_corrected", "fisher_p",
                                                    "fisher_p_greater"))


def two_by_two_counts(row_yes: np.ndarray, col_yes: np.ndarray) -> np.ndarray:
    """The 2x2 counts: rows ``row_yes`` yes/no, columns ``col_yes`` yes/no."""
    return np.array(
        [
            [np.sum(row_yes & col_yes), np.sum(row_yes & ~col_yes)],
            [np.sum(~row_yes & col_yes), np.sum(~row_yes & ~col_yes)],
        ],
        dtype=np.int64,
    )


def enrichment_ratio(table: np.ndarray) -> float:
    """P(column yes | row yes) / P(column yes | row no) of a 2x2 table; NaN when undefined."""
    n_rev, n_norev = table.sum(axis=1)
    if n_rev == 0 or n_norev == 0 or table[1, 0] == 0:
        return float("nan")
    return float((table[0, 0] / n_rev) / (table[1, 0] / n_norev))

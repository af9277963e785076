"""The record of one reported number (:class:`Metric`), the trace view's panels and the sources cited."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Metric", "PANELS"]


TOR = "Topology of Reasoning (Minegishi et al. 2025)"
F8020 = "80/20 forking tokens (Wang et al. 2025)"
VERL = "VERL effective rank (2025)"
ROY = "Roy & Vetterli 2007"
OWN = "reasongraph"
LED = "Latent Exploration Decoding (arXiv 2602.01698), logit lens"
HRSA = "HRSA (arXiv 2601.21192); linear CKA of Kornblith et al. 2019"

#: Panels of the trace view, in order: (key, title).
PANELS = (("cycles", "Cycles in hidden-state space"), ("shape", "Graph shape"), ("token", "Token entropy"),
          ("hidden", "Hidden-state spread"), ("levels", "Where the levels meet"))


@dataclass(frozen=True)
class Metric:
    """One reported number.

    key : its name in metrics dicts, rows.jsonl, summary.json and compare.
    label, help : a short label and a one-line explanation, shown in tables and the HTML views.
    panel : the trace view's panel (:data:`PANELS`), or None for numbers shown only in the full table.
    level : per trace "token", "hidden", "graph", "levels" (where the two meet) or "size"; "samples" for the
        diversity of a prompt's samples, "group" for a statistic over a group or a pair of groups, "locus" for
        ``reasongraph locus``'s comparison of two checkpoints on the same texts.
    direction : "+" when a higher value means more exploration or cyclicity, "-" when a lower one does, "" when
        neither reading applies.
    compare : whether ``reasongraph compare`` shows it by default.
    distribution : whether the dataset report draws its distribution per group.
    top : whether the report's table of the most cyclic traces has a column for it.
    summary : its column label in ``score``'s summary table ("" for none).
    definition, source, check : for docs/metrics.md: the exact definition, the paper it follows, check values.
    """

    key: str
    label: str
    help: str
    panel: str | None
    level: str
    direction: str = ""
    compare: bool = False
    distribution: bool = False
    top: bool = False
    summary: str = ""
    definition: str = ""
    source: str = OWN
    check: str = ""

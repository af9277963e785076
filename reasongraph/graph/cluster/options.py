"""The options of a dataset's clustering (:class:`ClusterOptions`), each defined once
(:mod:`reasongraph.core.options`). Light: importing it loads no scikit-learn, and the command line builds its flags
from here."""
from __future__ import annotations

from dataclasses import dataclass

from reasongraph.core.options import Choice, IntOrAuto, OptionalInt, Options, option, positive_int

__all__ = ["CLUSTER_BY", "METHODS", "ClusterOptions"]

METHODS = ("kmeans", "hdbscan")
CLUSTER_BY = ("model", "group")


@dataclass(frozen=True)
class ClusterOptions(Options):
    """The clustering of a dataset's steps into the nodes of its reasoning graphs."""

    k: int | str = option("auto", check=IntOrAuto(low=1), metavar="K|auto",
                          help="clusters (nodes) of the clustering with the most steps, others in proportion; auto: "
                               "a third of its fitted steps, at most 200 (docs/choosing_k.md). A K above a third of "
                               "the fitted steps is warned about: revisits are then rare by construction")
    method: str = option("kmeans", check=Choice(*METHODS), help="clustering method")
    cluster_by: str = option("model", check=Choice(*CLUSTER_BY),
                             help="one clustering per model (groups of one model share it) or per group")
    fit_sample: int | None = option(None, check=OptionalInt(low=1), metavar="N", parse=positive_int,
                                    help="fit on a seeded uniform sample of at most N step vectors (bounds memory and "
                                         "time; default: all steps)")

"""The metric catalogue: every number reasongraph reports, named, explained and placed, in one list.

Tables (``score``'s summary, ``compare``), the HTML views (the trace view's metric panel, the report's
distributions and its most-cyclic table) and ``docs/metrics.md`` all read it. The per-trace entries sit next to
the code that computes them, in the metric families of :mod:`reasongraph.analysis.metrics` (built-in and
registered, in row order); the other levels' entries are in :mod:`reasongraph.analysis.samples.entries`,
:mod:`reasongraph.analysis.groups.entries` and :mod:`reasongraph.analysis.metrics.locus_entries`. This module joins
them in that order. ``python -m reasongraph.analysis.catalogue`` prints docs/metrics.md; a test checks that the file
is current.
"""
from __future__ import annotations

from reasongraph.analysis.groups import entries as group_entries
from reasongraph.analysis.metrics import locus_entries
from reasongraph.analysis.metrics.registry import BUILT_IN, catalogue_entries, registry_version
from reasongraph.analysis.samples import entries as sample_entries
from reasongraph.core.metric import OWN, Metric

__all__ = ["METRICS", "by_key", "compare_keys", "distribution_keys", "entries", "markdown", "panel", "summary_keys",
           "top_keys"]

_OTHER_LEVELS: tuple[Metric, ...] = (*sample_entries.ENTRIES, *group_entries.ENTRIES, *locus_entries.ENTRIES)

#: reasongraph's own catalogue: the built-in families' entries, then the other levels'. :func:`entries` adds the
#: entries of registered metric families.
METRICS: tuple[Metric, ...] = (*(m for f in BUILT_IN for m in f.entries), *_OTHER_LEVELS)

_current: tuple[int, tuple[Metric, ...], dict[str, Metric]] = (0, METRICS, {m.key: m for m in METRICS})


def entries() -> tuple[Metric, ...]:
    """The catalogue now: :data:`METRICS` with the entries of the registered metric families in their place."""
    return _now()[0]


def _now() -> tuple[tuple[Metric, ...], dict[str, Metric]]:
    global _current
    if _current[0] != registry_version():
        found = (*catalogue_entries(), *_OTHER_LEVELS)
        _current = (registry_version(), found, {m.key: m for m in found})
    return _current[1], _current[2]


def by_key(key: str) -> Metric | None:
    """The catalogue entry of ``key``, None for a number the catalogue does not describe."""
    return _now()[1].get(key)


_LEVEL_ORDER = ("token", "hidden", "graph", "levels", "size")


def compare_keys() -> tuple[str, ...]:
    """What ``compare`` shows by default: token level first, then hidden, graph, where they meet, and size."""
    chosen = [m for m in entries() if m.compare]
    return tuple(m.key for m in sorted(chosen, key=lambda m: _LEVEL_ORDER.index(m.level)))


def distribution_keys() -> tuple[str, ...]:
    """The metrics whose per-group distributions the dataset report draws."""
    return tuple(m.key for m in entries() if m.distribution)


def top_keys() -> tuple[str, ...]:
    """The columns of the report's table of the most cyclic traces."""
    return tuple(m.key for m in entries() if m.top)


def summary_keys() -> tuple[tuple[str, str], ...]:
    """(key, column label) of ``score``'s summary table."""
    return tuple((m.key, m.summary) for m in entries() if m.summary)


def panel(key: str) -> tuple[Metric, ...]:
    """The metrics of one panel of the trace view, in catalogue order."""
    return tuple(m for m in entries() if m.panel == key)


def markdown() -> str:
    """docs/metrics.md: every documented metric with its definition, source and check values."""
    out = ["# Metrics", "",
           "Every number reasongraph reports, as `reasongraph.analysis.catalogue` lists it (this page is generated "
           "from it: `python -m reasongraph.analysis.catalogue > docs/metrics.md`). Keys are the names in metrics "
           "dicts, rows.jsonl, summary.json and `reasongraph compare`. Direction: + when a higher value means more "
           "exploration or cyclicity, - when a lower one does.", ""]
    for level, title in (("size", "Size"), ("graph", "The reasoning graph"), ("token", "Token level"),
                         ("hidden", "Hidden-state level"), ("levels", "Where the levels meet"),
                         ("samples", "Several samples of one prompt"), ("group", "Over a group, and two groups"),
                         ("locus", "Two checkpoints on the same texts (reasongraph locus)")):
        out += [f"## {title}", ""]
        for m in entries():
            if m.level != level:
                continue
            out.append(f"- **`{m.key}`** ({m.label}{', ' + m.direction if m.direction else ''}): "
                       f"{m.definition or m.help[:1].upper() + m.help[1:] + '.'}")
            if m.source != OWN:
                out.append(f"  Source: {m.source}.")
            if m.check:
                out.append(f"  Check: {m.check}.")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")

"""The metrics of one trace as catalogue entries (:mod:`.trace_entries`), and those of ``reasongraph locus``
(:mod:`.locus_entries`); :mod:`reasongraph.analysis.catalogue` joins every level's entries.
"""

__all__: list[str] = []

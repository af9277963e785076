"""Layer 7: runs over datasets. Reading records, the run folder (layout, reader, writer, report), scoring in two
passes, the engines that run them, and on-policy sampling (:mod:`reasongraph.runs.generate`).
"""

__all__: list[str] = []

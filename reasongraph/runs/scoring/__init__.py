"""Batch scoring, :func:`reasongraph.score_dataset`: the checked options, which model scores which record, pass 1
(extraction), the fit, pass 2 (one row per record) and the summary.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "Chunk": "reasongraph.runs.scoring.chunks",
    "CHUNK_CHARS": "reasongraph.runs.scoring.chunks",
    "DEFAULT_KEY": "reasongraph.runs.scoring.model_plan",
    "ENTROPY_SAMPLE": "reasongraph.runs.scoring.pass1",
    "extract_chunk": "reasongraph.runs.scoring.extract_here",
    "extraction_kind": "reasongraph.runs.scoring.row",
    "load_checked": "reasongraph.runs.scoring.extract_here",
    "LocalExtractor": "reasongraph.runs.scoring.extract_here",
    "layer_column_units": "reasongraph.runs.scoring.row",
    "ModelPlan": "reasongraph.runs.scoring.model_plan",
    "RunState": "reasongraph.runs.scoring.state",
    "row_head": "reasongraph.runs.scoring.row",
    "score_dataset": "reasongraph.runs.scoring.score",
    "score_rows": "reasongraph.runs.scoring.pass2",
    "score_trace": "reasongraph.runs.scoring.row",
    "Timing": "reasongraph.runs.scoring.state",
    "write_prompt_rows": "reasongraph.runs.scoring.prompt_rows",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)

"""What a scoring run measures of its own work: seconds per stage and counts (:class:`Timing`)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Timing"]


@dataclass
class Timing:
    """Seconds spent per stage in this invocation (a resumed run counts only its own work). With the Ray engine,
    extract_s and analyze_s are the wall-clock seconds of those passes across the cluster."""

    engine: str = "local"
    workers: int = 1
    load_s: float = 0.0
    extract_s: float = 0.0
    cache_load_s: float = 0.0
    fit_s: float = 0.0
    analyze_s: float = 0.0
    write_s: float = 0.0
    n_models_loaded: int = 0
    n_extracted: int = 0
    n_extracted_tokens: int = 0
    n_analyzed: int = 0
    n_analyzed_tokens: int = 0

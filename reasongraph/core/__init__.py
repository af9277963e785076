"""Layer 0, what every other layer uses: errors worded in the caller's terms, parameter checks, crash-safe files
and JSON Lines, JSON values, hashes, the ``.npz`` format, progress lines, the number formatter and the
record of a reported metric. Nothing here imports numpy at import time but the ``.npz`` format.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "Array": "reasongraph.core.npz_format",
    "atomic_write": "reasongraph.core.storage",
    "atomic_write_json": "reasongraph.core.storage",
    "check_choice": "reasongraph.core.checks",
    "check_int": "reasongraph.core.checks",
    "check_number": "reasongraph.core.checks",
    "check_optional_int": "reasongraph.core.checks",
    "check_path": "reasongraph.core.checks",
    "check_path_writable": "reasongraph.core.checks",
    "check_seed": "reasongraph.core.checks",
    "damaged": "reasongraph.core.npz_format",
    "file_sha256": "reasongraph.core.hashing",
    "finite_or_none": "reasongraph.core.json_values",
    "fmt": "reasongraph.core.display",
    "fmt_ci": "reasongraph.core.display",
    "fmt_p": "reasongraph.core.display",
    "format_duration": "reasongraph.core.progress",
    "fsync_dir": "reasongraph.core.storage",
    "InputError": "reasongraph.core.errors",
    "is_missing": "reasongraph.core.display",
    "JsonlAppender": "reasongraph.core.storage",
    "load_npz": "reasongraph.core.npz_format",
    "MAX_SEED": "reasongraph.core.checks",
    "Metric": "reasongraph.core.metric",
    "ModelNotAvailableError": "reasongraph.core.errors",
    "NA": "reasongraph.core.display",
    "opt": "reasongraph.core.errors",
    "PANELS": "reasongraph.core.metric",
    "Progress": "reasongraph.core.progress",
    "python_spelling": "reasongraph.core.errors",
    "read_json": "reasongraph.core.storage",
    "read_jsonl": "reasongraph.core.storage",
    "ReasongraphError": "reasongraph.core.errors",
    "repair_jsonl": "reasongraph.core.storage",
    "save_npz": "reasongraph.core.npz_format",
    "scalar": "reasongraph.core.json_values",
    "spelled": "reasongraph.core.errors",
    "Spelling": "reasongraph.core.errors",
    "strict_json": "reasongraph.core.json_values",
    "text_table": "reasongraph.core.display",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)

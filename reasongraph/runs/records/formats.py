"""The input formats of a dataset, and how the format of a path is told."""
from __future__ import annotations

from pathlib import Path

from reasongraph.core.errors import InputError


FORMATS = ("jsonl", "csv", "tsv", "parquet", "hf")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
             ".parquet": "parquet", ".pq": "parquet"}


def detect_format(path: str | Path) -> str:
    """The input format of ``path`` from its suffix, or ``"hf"`` for a folder saved by ``datasets``."""
    path = Path(path)
    if path.is_dir():
        if (path / "state.json").is_file():
            return "hf"
        if (path / "dataset_dict.json").is_file():
            splits = sorted(p.name for p in path.iterdir() if (p / "state.json").is_file())
            raise InputError(f"{path} is a DatasetDict with splits {splits}; pass one split's folder, "
                             f"e.g. {path / (splits[0] if splits else 'train')}")
        raise InputError(f"{path} is a folder but not a dataset saved with datasets' save_to_disk "
                         "(no state.json)")
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the format of {path}: use a .jsonl, .csv, .tsv or .parquet file, "
                         "or a folder written by datasets' save_to_disk")
    return fmt

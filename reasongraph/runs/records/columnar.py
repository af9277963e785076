"""Parquet files and saved ``datasets`` folders, read in batches of rows."""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

from reasongraph.core.errors import InputError

_BATCH_ROWS = 1024


# ---------------------------------------------------------------------- Parquet and saved datasets (pyarrow)
def _require_pyarrow():
    if importlib.util.find_spec("pyarrow") is None:
        raise InputError("reading Parquet or saved datasets needs pyarrow: pip install 'reasongraph[parquet]'")


def parquet_file(path: Path):
    _require_pyarrow()
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError(f"{path}: cannot read as Parquet: {e}") from None


def parquet_rows(path: Path, columns: list[str]) -> Iterator[dict]:
    for batch in parquet_file(path).iter_batches(batch_size=_BATCH_ROWS, columns=columns):
        yield from batch.to_pylist()


def _hf_state(path: Path) -> dict:
    try:
        return json.loads((path / "state.json").read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: unreadable state.json of a saved dataset: {e}") from None


def _hf_has_datasets() -> bool:
    return importlib.util.find_spec("datasets") is not None


def _hf_dataset(path: Path):
    import datasets  # optional; lazily imported because it is heavy

    try:
        return datasets.load_from_disk(str(path))
    except Exception as e:  # noqa: BLE001
        raise InputError(f"{path}: datasets.load_from_disk failed: {e}") from None


def _hf_arrow_batches(path: Path, columns: list[str] | None = None):
    """Record batches straight from the Arrow stream files that ``save_to_disk`` writes (no datasets needed)."""
    _require_pyarrow()
    import pyarrow as pa

    state = _hf_state(path)
    if state.get("_indices_data_files"):
        raise InputError(f"{path}: saved with an indices mapping; install datasets to read it")
    for entry in state.get("_data_files", []):
        with pa.memory_map(str(path / entry["filename"])) as source:
            reader = pa.ipc.open_stream(source)
            for batch in reader:
                yield batch.select(columns) if columns is not None else batch


def hf_columns(path: Path) -> list[str]:
    if _hf_has_datasets():
        return list(_hf_dataset(path).column_names)
    _require_pyarrow()
    import pyarrow as pa

    files = _hf_state(path).get("_data_files", [])
    if not files:
        return []
    with pa.memory_map(str(path / files[0]["filename"])) as source:
        return list(pa.ipc.open_stream(source).schema.names)


def hf_num_rows(path: Path) -> int:
    if _hf_has_datasets():
        return len(_hf_dataset(path))
    return sum(b.num_rows for b in _hf_arrow_batches(path, columns=[]))


def hf_rows(path: Path, columns: list[str]) -> Iterator[dict]:
    if _hf_has_datasets():
        ds = _hf_dataset(path).select_columns(columns)
        for batch in ds.iter(batch_size=_BATCH_ROWS):  # memory-mapped: flat in the dataset's size
            n = len(batch[columns[0]])
            for i in range(n):
                yield {c: batch[c][i] for c in columns}
        return
    for batch in _hf_arrow_batches(path, columns):
        yield from batch.to_pylist()

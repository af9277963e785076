"""rows.jsonl as rows.parquet: one typed column per field, written in chunks so memory stays flat."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasongraph.core.storage import atomic_write, read_jsonl

__all__ = ["write_rows_parquet"]

_CHUNK_ROWS = 5000


def _column_type(kinds: set[type]) -> Any:
    import pyarrow as pa

    if kinds <= {bool}:
        return pa.bool_()
    if kinds <= {int}:
        return pa.int64()
    if kinds <= {int, float}:
        return pa.float64()
    return pa.string()  # strings, and lists / dicts / mixed values as JSON text


def _as_text(v: Any) -> str | None:
    return v if v is None or isinstance(v, str) else json.dumps(v)


def write_rows_parquet(rows_path: str | Path, out_path: str | Path) -> Path | None:
    """Convert a rows JSONL file to Parquet atomically; None (and nothing written) without pyarrow.

    Two passes over the JSONL: the first finds each field's type (bool, int, float, else text; lists and dicts
    become JSON text), the second writes chunks of rows.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    kinds: dict[str, set[type]] = {}
    for row in read_jsonl(rows_path):
        for key, v in row.items():
            kinds.setdefault(key, set())
            if v is not None:
                kinds[key].add(type(v))
    schema = pa.schema([(key, _column_type(kind)) for key, kind in kinds.items()])
    text_cols = {key for key in kinds if schema.field(key).type == pa.string()}

    def chunks() -> Iterator[list[dict]]:
        chunk = []
        for row in read_jsonl(rows_path):
            chunk.append({key: (_as_text(row.get(key)) if key in text_cols else row.get(key)) for key in kinds})
            if len(chunk) >= _CHUNK_ROWS:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema) as writer:
            for chunk in chunks():
                writer.write_batch(pa.RecordBatch.from_pylist(chunk, schema=schema))

    return atomic_write(out_path, write, suffix=".parquet")

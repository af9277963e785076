"""Content hashes of files, folders and model configs, for identities that must change when an input changes.

Two folder formulas are in run manifests already (a run's input, a generate output's prompts), so both are kept,
as schemes of one walker (:func:`tree_sha256`): changing either would refuse to resume every old run.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

__all__ = ["GENERATE_V1", "RECORDS_V1", "config_sha256", "file_sha256", "tree_files", "tree_sha256"]

#: A file: its SHA-256; a folder: SHA-256 over ``relative path \0 hex SHA-256 of the file`` per file, sorted.
RECORDS_V1 = "records/1"
#: A file or a folder: SHA-256 over ``relative path \0 bytes`` per file, sorted (a lone file's path is "").
GENERATE_V1 = "generate/1"


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    _update_with_file(h, Path(path))
    return h.hexdigest()


def tree_files(path: str | Path) -> list[Path]:
    """``[path]`` for a file, else every file under the folder ``path``, sorted (none when it does not exist)."""
    path = Path(path)
    return [path] if path.is_file() else sorted(q for q in path.rglob("*") if q.is_file())


def tree_sha256(path: str | Path, *, scheme: str) -> str:
    """The content hash of a file or a folder in ``scheme`` (:data:`RECORDS_V1` or :data:`GENERATE_V1`)."""
    path = Path(path)
    if scheme == RECORDS_V1 and path.is_file():
        return file_sha256(path)
    if scheme not in (RECORDS_V1, GENERATE_V1):
        raise ValueError(f"unknown folder hash scheme {scheme!r}")
    h = hashlib.sha256()
    for p in tree_files(path):
        relative = str(p.relative_to(path) if p != path else "").encode() + b"\0"
        if scheme == RECORDS_V1:
            h.update(relative + file_sha256(p).encode())
        else:
            h.update(relative)
            _update_with_file(h, p)
    return h.hexdigest()


def config_sha256(config: Any) -> str:
    """The SHA-256 of a model config: its full JSON (``to_json_string(use_diff=False)``), else its repr."""
    text = config.to_json_string(use_diff=False) if hasattr(config, "to_json_string") else repr(config)
    return hashlib.sha256(text.encode()).hexdigest()


def _update_with_file(h: Any, path: Path) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)

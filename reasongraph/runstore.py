"""A run directory that survives Ctrl-C and ``kill -9``: manifest, append-only results, a trace cache.

Layout of ``DIR``::

    manifest.json    the options the run was started with; a rerun with other options is refused
    rows.jsonl       one JSON line per scored record (appended, flushed and fsynced one at a time)
    errors.jsonl     one JSON line per record that could not be scored
    clusterer.npz    the clustering used for every trace (written atomically)
    traces/          the per-record extraction cache (one Trace .npz per record, written atomically)

Crash safety rests on three rules. Each result line is written by a single ``write`` on an ``O_APPEND`` file and
fsynced before the next record starts, so after a kill at most the last line is torn; opening the store cuts a
torn last line off (that record is then simply redone). Whole files (manifest, clusterer, cached traces, summary)
are written to a temporary name, fsynced and renamed over the target, so they either exist whole or not at all.
A record is done when its ``line`` appears in rows.jsonl or errors.jsonl; a resumed run skips done records.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasongraph.errors import InputError
from reasongraph.storage import JsonlAppender, atomic_write, atomic_write_json, read_jsonl, repair_jsonl
from reasongraph.trace import Trace

_MANIFEST_FORMAT = "reasongraph.run"
_MANIFEST_VERSION = 1
_CACHE_VERSION = 1


# ---------------------------------------------------------------------- the run directory
class RunStore:
    """The output directory of one scoring run.

    Parameters
    ----------
    directory : created if missing.
    options : everything that changes the rows (JSON-able); stored in manifest.json on the first run and
        compared on every later one.

    Raises
    ------
    InputError : ``directory`` holds a run started with different options.
    """

    def __init__(self, directory: str | Path, options: dict) -> None:
        self.dir = Path(directory)
        if self.dir.exists() and not self.dir.is_dir():
            raise InputError(f"--out {self.dir} exists and is not a directory")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.options = json.loads(json.dumps(options))  # normalize tuples to lists, as they come back from disk
        self._check_manifest()
        repair_jsonl(self.rows_path)
        repair_jsonl(self.errors_path)
        self._rows: JsonlAppender | None = None
        self._errors: JsonlAppender | None = None

    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    @property
    def rows_path(self) -> Path:
        return self.dir / "rows.jsonl"

    @property
    def errors_path(self) -> Path:
        return self.dir / "errors.jsonl"

    @property
    def clusterer_path(self) -> Path:
        return self.dir / "clusterer.npz"

    def _check_manifest(self) -> None:
        if self.manifest_path.exists():
            try:
                manifest = json.loads(self.manifest_path.read_text())
                old = manifest["options"]
            except (ValueError, KeyError, TypeError):
                raise InputError(f"{self.manifest_path} is not a reasongraph run manifest; use another --out")
            diff = [k for k in sorted(set(old) | set(self.options)) if old.get(k) != self.options.get(k)]
            if diff:
                said = "; ".join(f"{k}: run has {old.get(k)!r}, now {self.options.get(k)!r}" for k in diff[:4])
                raise InputError(f"{self.dir} holds a run started with different options ({said}); resume it "
                                 "with the same options, or use another --out (or delete that folder)")
            return
        if any(self.dir.iterdir()):
            raise InputError(f"--out {self.dir} is a non-empty folder without a run manifest; use another --out")
        atomic_write_json(self.manifest_path, {"format": _MANIFEST_FORMAT, "version": _MANIFEST_VERSION,
                                               "options": self.options})

    def done_lines(self) -> set[int]:
        """Input lines already accounted for, in rows.jsonl or errors.jsonl."""
        return {r["line"] for path in (self.rows_path, self.errors_path) for r in read_jsonl(path)}

    def append_row(self, row: dict) -> None:
        if self._rows is None:
            self._rows = JsonlAppender(self.rows_path)
        self._rows.append(row)

    def append_error(self, error: dict) -> None:
        if self._errors is None:
            self._errors = JsonlAppender(self.errors_path)
        self._errors.append(error)

    def rows(self) -> Iterator[dict]:
        return read_jsonl(self.rows_path)

    def errors(self) -> Iterator[dict]:
        return read_jsonl(self.errors_path)

    def close(self) -> None:
        for appender in (self._rows, self._errors):
            if appender is not None:
                appender.close()
        self._rows = self._errors = None

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------------- the trace cache
def _sha256(s: str | None) -> str | None:
    return None if s is None else hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()


class TraceCache:
    """Extracted traces on disk, one ``.npz`` per record, keyed by everything that changes the extraction.

    The key hashes the model identity, layers, segmenter, temperature, prompt format, truncation and the hashes
    of text and prompt, so a cache folder can be shared between runs (``--cache-dir``) and a re-clustering never
    recomputes hidden states. Entries are written atomically and never modified.
    """

    def __init__(self, directory: str | Path, model_key: dict, options: dict) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._base = {"version": _CACHE_VERSION, "model": model_key, "options": options}

    def key(self, text: str, prompt: str | None) -> str:
        payload = dict(self._base, text=_sha256(text), prompt=_sha256(prompt))
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.entry_path(self.dir, key)

    @staticmethod
    def entry_path(directory: str | Path, key: str) -> Path:
        """Where the entry ``key`` of a cache folder lives (readable without the model that keyed it)."""
        return Path(directory) / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Trace | None:
        path = self.path(key)
        if not path.exists():
            return None
        try:
            return Trace.load(path)
        except ValueError:
            path.unlink(missing_ok=True)  # unreadable entry (should not happen with atomic writes): redo it
            return None

    def has(self, key: str) -> bool:
        return self.path(key).exists()

    def put(self, key: str, trace: Trace) -> Path:
        path = self.path(key)
        path.parent.mkdir(exist_ok=True)
        return atomic_write(path, trace.save, suffix=".npz")

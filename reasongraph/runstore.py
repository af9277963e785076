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
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reasongraph.errors import InputError
from reasongraph.trace import Trace

_MANIFEST_FORMAT = "reasongraph.run"
_MANIFEST_VERSION = 1
_CACHE_VERSION = 1


# ---------------------------------------------------------------------- atomic files
def fsync_dir(directory: str | Path) -> None:
    """Make a rename or a new file in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], Any], suffix: str = "") -> Path:
    """Call ``write(tmp_path)``, fsync the result and rename it to ``path``: the file appears whole or not at all.

    ``suffix`` is given to the temporary name for writers that insist on an extension (``np.savez``).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    data = (json.dumps(obj, indent=2, sort_keys=False, allow_nan=True) + "\n").encode("utf-8")
    return atomic_write(path, lambda p: p.write_bytes(data))


# ---------------------------------------------------------------------- append-only JSON lines
def repair_jsonl(path: str | Path) -> int:
    """Cut a torn last line (no trailing newline, as a kill mid-write leaves it) off ``path``; bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        # walk back to the last newline in blocks; keep everything up to and including it
        pos, keep = size, 0
        while pos > 0:
            start = max(0, pos - 65536)
            f.seek(start)
            block = f.read(pos - start)
            i = block.rfind(b"\n")
            if i >= 0:
                keep = start + i + 1
                break
            pos = start
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return size - keep


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """The JSON objects of a file written by :class:`JsonlAppender`, in order (missing file: nothing)."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                return  # a torn last line: not (yet) a result
            try:
                yield json.loads(raw)
            except ValueError:
                raise ValueError(f"{path}:{lineno}: corrupt result line; this file was not written by "
                                 "reasongraph alone") from None


class JsonlAppender:
    """Append JSON objects to a file, one line per ``write`` on an ``O_APPEND`` descriptor, fsynced each time."""

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        self.path = Path(path)
        self._fsync = fsync
        existed = self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if not existed:
            fsync_dir(self.path.parent)

    def append(self, obj: dict) -> None:
        data = (json.dumps(obj, allow_nan=True, ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


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

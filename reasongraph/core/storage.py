"""Files that survive Ctrl-C and ``kill -9``: atomic whole-file writes and append-only JSON Lines.

Two rules make every file reasongraph writes crash-safe. A whole file (a manifest, a clusterer, a cached trace, a
summary) is written to a temporary name in the same folder, fsynced and renamed over its target, so it exists
whole or not at all. A result line is written by a single ``write`` on an ``O_APPEND`` descriptor and fsynced
before the next one, so a kill leaves at most a torn last line, which :func:`repair_jsonl` cuts off and
:func:`read_jsonl` never returns.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError

__all__ = ["JsonlAppender", "atomic_write", "atomic_write_json", "fsync_dir", "read_json", "read_jsonl", "repair_jsonl"]


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


def atomic_write(path: str | Path, write: Callable[[Path], Any], *, suffix: str = "") -> Path:
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


def read_json(path: str | Path, *, what: str = "JSON file") -> Any:
    """The JSON value in ``path``; a missing or unreadable file is an InputError naming it and ``what`` it is."""
    path = Path(path)
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what}: {e.strerror}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: the {what} is not valid JSON ({e})") from None


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
    """The JSON objects of a JSON Lines file, in order (a missing file yields nothing).

    Blank lines are skipped and a torn last line (no trailing newline: a write cut short by a kill) is not a
    result yet. A line that is not a JSON object raises InputError naming the file and the line.
    """
    path = Path(path)
    if not path.exists():
        return
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                return
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as e:
                raise InputError(f"{path}:{lineno}: corrupt line, not JSON ({e}); was the file edited by hand "
                                 "or written by two programs at once?") from None
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{lineno}: a line must hold a JSON object, got {type(obj).__name__}")
            yield obj


class JsonlAppender:
    """Append JSON objects to a file, one line per ``write`` on an ``O_APPEND`` descriptor, fsynced each time."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
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

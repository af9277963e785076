"""One writer at a time, and only a resume with the same options: the lock and manifest of an output.

A scoring run folder (:class:`reasongraph.runs.folder.writer.RunStore`) and a generate output
(:mod:`reasongraph.runs.generate.output`) both hold an exclusive ``flock`` on a lock file while they write, and both
keep a manifest: written on the first run, compared with the options on every later one, so a resume never mixes
records made with different options. The operating system releases the lock when the process ends, however it ends,
so a lock left by a killed run never blocks its resume, and a second writer started beside a live one is refused at
once. Each output keeps its own manifest keys, version and messages (:class:`ManifestMessages`).
"""
from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError
from reasongraph.core.storage import atomic_write_json, read_json

__all__ = ["ManifestLock", "ManifestMessages", "options_difference"]


@dataclass(frozen=True)
class ManifestMessages:
    """What each refusal says (the output's own words: they are part of its interface)."""

    busy: str                               # another process holds the lock
    unwritable: Callable[[OSError], str]    # the lock file cannot be created
    foreign: str                            # the manifest is not one of this output's
    differ: Callable[[str], str]            # the options differ; gets :func:`options_difference`'s text
    not_empty: str                          # no manifest, but the output already holds something
    version: Callable[[Any], str] | None = None  # the manifest's version differs; None: the version is not compared
    json_what: str | None = None            # invalid JSON: read_json's message naming this; None: ``foreign``


def options_difference(old: dict, new: dict) -> str:
    """``"k: run has a, now b; ..."`` for the first four keys whose values differ ("" when none do)."""
    diff = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return "; ".join(f"{k}: run has {old.get(k)!r}, now {new.get(k)!r}" for k in diff[:4])


class ManifestLock:
    """Lock ``lock_path``, then check ``manifest_path`` against ``options`` or write it.

    Parameters
    ----------
    manifest_path, lock_path : the lock file is created if missing (its folder must exist).
    format, version : the manifest's first two keys; ``header`` adds keys between them and ``options``.
    options : JSON-able; compared key by key with the manifest's on a resume.
    messages : the output's refusals.
    is_empty : called when there is no manifest: False means the output holds something else (refused).
    check_format : compare the manifest's ``format`` too (a run folder's check predates it and does not).

    Raises
    ------
    InputError : another process holds the lock, the manifest is foreign or differs, or the output is not empty.
    """

    def __init__(self, manifest_path: Path, lock_path: Path, *, format: str, version: int, options: dict,
                 messages: ManifestMessages, is_empty: Callable[[], bool], header: dict | None = None,
                 check_format: bool = True) -> None:
        self.manifest_path, self.lock_path, self.messages = Path(manifest_path), Path(lock_path), messages
        self._fd = self._lock()
        try:
            self._check_or_write(format, version, options, header or {}, is_empty, check_format)
        except BaseException:
            self.close()
            raise

    def _lock(self) -> int:
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise InputError(self.messages.unwritable(e)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(self.messages.busy) from None
        return fd

    def _read(self) -> Any:
        if self.messages.json_what is not None:
            return read_json(self.manifest_path, what=self.messages.json_what)
        try:
            return json.loads(self.manifest_path.read_text())
        except ValueError:
            raise InputError(self.messages.foreign) from None

    def _check_or_write(self, format: str, version: int, options: dict, header: dict,
                        is_empty: Callable[[], bool], check_format: bool) -> None:
        """Write the manifest of a new output, or check a resumed output's against ``options``."""
        if not self.manifest_path.exists():
            if not is_empty():
                raise InputError(self.messages.not_empty)
            atomic_write_json(self.manifest_path, {"format": format, "version": version, **header,
                                                   "options": options})
            return
        old = self._read()
        if not isinstance(old, dict) or not isinstance(old.get("options"), dict) or (
                check_format and old.get("format") != format):
            raise InputError(self.messages.foreign)
        if self.messages.version is not None and old.get("version") != version:
            raise InputError(self.messages.version(old.get("version")))
        said = options_difference(old["options"], options)
        if said:
            raise InputError(self.messages.differ(said))

    def close(self) -> None:
        """Release the lock (the OS releases it too if the process dies)."""
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = -1

    def __enter__(self) -> ManifestLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

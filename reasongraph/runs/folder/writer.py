"""The write side of a run folder: a manifest, append-only results, one writer at a time.

The folder's layout is :class:`reasongraph.runs.folder.layout.RunLayout`; reading a finished run is
:class:`reasongraph.runs.folder.reader.ScoredRun`. Crash safety rests on :mod:`reasongraph.core.storage`: each result
line is one fsynced append, so after a kill at most the last line is torn, and opening the store cuts it off (that
record is then simply redone); whole files appear whole or not at all. A record is done when its ``line`` appears in
rows.jsonl or errors.jsonl; a resumed run skips done records.

One process writes a run at a time: the store holds an exclusive ``flock`` on ``DIR/.lock`` while open
(:class:`reasongraph.core.manifest.ManifestLock`, shared with generate's output), so a lock left by a killed run
never blocks its resume, and a second writer started beside a live one is refused at once.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.manifest import ManifestLock, ManifestMessages
from reasongraph.core.storage import JsonlAppender, read_jsonl, repair_jsonl
from reasongraph.runs.folder.layout import RunLayout

_MANIFEST_FORMAT = "reasongraph.run"
_MANIFEST_VERSION = 1


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
    InputError : ``directory`` cannot be created, holds a run started with different options or something else,
        or another process is writing it.
    """

    def __init__(self, directory: str | Path, options: dict) -> None:
        self.layout = RunLayout(Path(directory))
        self.dir = self.layout.dir
        if self.dir.exists() and not self.dir.is_dir():
            raise InputError(f"{opt('out')} {self.dir} exists and is not a directory")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"{opt('out')} {self.dir}: cannot create the run folder ({e.strerror})") from None
        self.options = json.loads(json.dumps(options))  # normalize tuples to lists, as they come back from disk
        self._manifest = ManifestLock(
            self.layout.manifest, self.layout.lock, format=_MANIFEST_FORMAT, version=_MANIFEST_VERSION,
            options=self.options, messages=self._messages(), check_format=False,
            is_empty=lambda: all(p.name == self.layout.lock.name for p in self.dir.iterdir()))
        try:
            repair_jsonl(self.rows_path)
            repair_jsonl(self.errors_path)
        except BaseException:
            self.close()
            raise
        self._rows: JsonlAppender | None = None
        self._errors: JsonlAppender | None = None

    def _messages(self) -> ManifestMessages:
        out = opt("out")
        return ManifestMessages(
            busy=f"{self.dir} is being written by another process; wait for it to finish, or use another {out}",
            unwritable=lambda e: f"{out} {self.dir}: cannot write in the run folder ({e.strerror})",
            foreign=f"{self.layout.manifest} is not a reasongraph run manifest; use another {out}",
            differ=lambda said: (f"{self.dir} holds a run started with different options ({said}); resume it with "
                                 f"the same options, or use another {out} (or delete that folder)"),
            not_empty=f"{out} {self.dir} is a non-empty folder without a run manifest; use another {out}")

    @property
    def manifest_path(self) -> Path:
        return self.layout.manifest

    @property
    def rows_path(self) -> Path:
        return self.layout.rows

    @property
    def errors_path(self) -> Path:
        return self.layout.errors

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
        """Close the result files and release the lock (the OS releases it too if the process dies)."""
        for appender in (getattr(self, "_rows", None), getattr(self, "_errors", None)):
            if appender is not None:
                appender.close()
        self._rows = self._errors = None
        if getattr(self, "_manifest", None) is not None:
            self._manifest.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

"""The texts a locus run reads: records of JSONL, CSV/TSV or Parquet files (as ``score`` reads them), the scored
samples of run folders, or strings.

Several sources can be given; each text keeps its source, and its group is the ``group_field``'s value when one
is named, else the source's name when there are several sources (so samples of a base model and of an RL policy,
in two files, are reported per source), else none. Records that cannot be read are skipped and counted.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.runs.folder.reader import ScoredRun
from reasongraph.runs.records.reader import RecordReader
from reasongraph.train.locus.options import LocusOptions

log = logging.getLogger("reasongraph")

__all__ = ["Texts", "TextItem", "read_texts"]


@dataclass(frozen=True)
class TextItem:
    """One text to read: its id, text, prompt (or None), group (or None) and source."""

    id: str
    text: str
    prompt: str | None
    group: str | None
    source: str


@dataclass
class Texts:
    """What :func:`read_texts` found: the items, the records skipped, and the prompt format the runs used."""

    items: list[TextItem]
    skipped: int
    prompt_format: str | None


def _is_run(path: Path) -> bool:
    return path.is_dir() and ((path / "manifest.json").is_file() or (path / "rows.jsonl").is_file())


def read_texts(sources: Any, *, text_field: str = LocusOptions.text_field, prompt_field: str | None = None,
               id_field: str | None = LocusOptions.id_field, group_field: str | None = None,
               limit: int | None = None) -> Texts:
    """Read the texts of one source or several.

    Parameters
    ----------
    sources : a path or a list of paths (JSONL/CSV/TSV/Parquet files, saved datasets, run folders of ``score``),
        or a list of strings (each a text with no prompt; a string that names an existing path or a data file's
        name is taken as a path).
    text_field, prompt_field, id_field, group_field : the fields of record files (run folders know their own).
    limit : read at most this many records of each source.

    Raises
    ------
    InputError : a source that cannot be read, or no text at all.
    """
    single = isinstance(sources, (str, os.PathLike))  # one argument is always a path
    if single:
        sources = [sources]
    if not isinstance(sources, Sequence) or isinstance(sources, (bytes, bytearray)) or not sources:
        raise InputError(f"{opt('texts')} must be a file, a run folder or a list of them (or a list of strings), "
                         f"got {sources!r:.80}")
    if not single and _are_strings(sources):
        items = [TextItem(str(i), s, None, None, "texts") for i, s in enumerate(sources)]
        return Texts(items=items[:limit] if limit is not None else items, skipped=0, prompt_format=None)
    several = len(sources) > 1
    items, skipped, formats = [], 0, set()
    for source in sources:
        path = Path(source).expanduser()
        name = path.stem if path.is_file() else path.name
        if _is_run(path):
            found, bad, fmt = _run_texts(path, name, limit)
            formats.add(fmt)
        else:
            found, bad = _record_texts(path, name, limit, text_field=text_field, prompt_field=prompt_field,
                                       id_field=id_field, group_field=group_field)
        items += [item if group_field or not several else TextItem(item.id, item.text, item.prompt, name, name)
                  for item in found]
        skipped += bad
    if not items:
        raise InputError(f"no text to read in {', '.join(map(str, sources))}"
                         + (f" ({skipped} records could not be read)" if skipped else ""))
    if skipped:
        log.warning("locus: %d records could not be read and were skipped", skipped)
    return Texts(items=items, skipped=skipped, prompt_format=formats.pop() if len(formats) == 1 else None)


_DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq")


def _are_strings(sources: Sequence[Any]) -> bool:
    """Whether a list holds texts rather than paths: strings none of which names an existing path, nor looks
    like a data file's name (a missing file must be reported as missing, not read as a one-line text)."""
    def path_like(s: Any) -> bool:
        if not isinstance(s, str):
            return True
        if len(s) > 4096 or "\n" in s:
            return False
        try:
            exists = Path(s).expanduser().exists()
        except (OSError, ValueError):  # a name too long for the filesystem, a NUL byte: a text
            return False
        return exists or (not any(c.isspace() for c in s) and s.lower().endswith(_DATA_SUFFIXES))
    kinds = {path_like(s) for s in sources}
    if len(kinds) > 1:
        raise InputError(f"{opt('texts')} mixes paths and texts; give a list of one or the other")
    return kinds == {False}


def _record_texts(path: Path, name: str, limit: int | None, **fields: Any) -> tuple[list[TextItem], int]:
    reader = RecordReader(path, text_field=fields["text_field"], prompt_field=fields["prompt_field"],
                          id_field=fields["id_field"], group_field=fields["group_field"], limit=limit)
    items, skipped = [], 0
    for rec in reader:
        if not rec.ok:
            skipped += 1
            log.info("locus: %s, %s: %s", path, rec.where(), rec.error)
            continue
        items.append(TextItem(rec.id if rec.id is not None else f"{name}:{rec.line}", rec.text, rec.prompt,
                              rec.group, name))
    return items, skipped


def _run_texts(path: Path, name: str, limit: int | None) -> tuple[list[TextItem], int, str | None]:
    """The samples of a scored run, read back from its trace cache (text and prompt as they were scored)."""
    run = ScoredRun(path)
    items, skipped = [], 0
    for row in run.rows():
        if limit is not None and len(items) + skipped >= limit:
            break
        trace = run.trace(row)
        if trace is None:
            skipped += 1
            continue
        rid = row.get("id")
        items.append(TextItem(str(rid) if rid is not None else f"{name}:{row.get('line')}", trace.text, trace.prompt,
                              None if row.get("group") is None else str(row["group"]), name))
    return items, skipped, run.options.get("prompt_format")

"""Reading datasets of reasoning traces as a stream of records, each either scoreable or carrying its error.

Inputs: JSON Lines (``.jsonl``, ``.ndjson``), CSV (``.csv``; ``.tsv`` tab-separated), Parquet (``.parquet``,
``.pq``; needs pyarrow) and a Hugging Face ``datasets`` dataset saved with ``save_to_disk`` (a folder; read with
``datasets.load_from_disk`` when that package is installed, else straight from its Arrow files with pyarrow).

Records stream one at a time, so memory stays flat in the size of the input, and the reader can be iterated
again (the two passes of :func:`reasongraph.score_dataset` each read the file). Problems are split in two kinds:

* a problem with the whole input (missing file, unknown format, a field name that the input does not have) is an
  :class:`~reasongraph.errors.InputError` raised when the reader is built, before any work starts;
* a problem with one record (a line that is not JSON, undecodable bytes, a missing or non-string text, an empty
  text without a prompt) yields a :class:`Record` whose ``error`` says what is wrong, so a batch job can skip it
  and account for it. An empty text with a prompt is a record: a response that ended at once (a trace of no
  steps, as sampling can give).

Every record has a ``line``: the 1-based line of the file where it starts (JSONL, CSV), or its 1-based row number
(Parquet, saved datasets). Blank lines in a JSONL file are not records.
"""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from reasongraph.errors import InputError, opt
from reasongraph.storage import file_sha256
from reasongraph.validate import check_optional_int, check_path

FORMATS = ("jsonl", "csv", "tsv", "parquet", "hf")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
             ".parquet": "parquet", ".pq": "parquet"}
_BATCH_ROWS = 1024
_CSV_FIELD_LIMIT = 2**31 - 1  # traces are often longer than csv's default limit of 128 KiB per field
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Record:
    """One input record: what to score, or why it cannot be scored.

    Attributes
    ----------
    line : 1-based line where the record starts (JSONL, CSV) or 1-based row number (Parquet, saved dataset).
    id : the id field's value as a string, None when absent.
    text, prompt, group, pair, model, sample_group, policy : the named fields' values (group, pair, model,
        sample group and policy as strings); None when absent.
    temperature : the temperature the trace was sampled at (a positive number), when a field names it.
    error : None for a scoreable record, else a one-line reason.
    """

    line: int
    id: str | None = None
    text: str | None = None
    prompt: str | None = None
    group: str | None = None
    pair: str | None = None
    model: str | None = None
    sample_group: str | None = None
    temperature: float | None = None
    policy: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def size(self) -> int:
        """Characters of text and prompt: the unit of work progress is measured in (0 for a bad record)."""
        return len(self.text or "") + len(self.prompt or "")

    def where(self) -> str:
        """``"line 12 (id 'p3')"``: how messages name this record."""
        return f"line {self.line}" + (f" (id {self.id!r})" if self.id is not None else "")


@dataclass
class Scan:
    """What :meth:`RecordReader.scan` found: record and character counts, and the valid records per group
    (None: no group) and per model named in the data, in order of first appearance."""

    n_records: int = 0
    n_chars: int = 0
    groups: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)


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


class RecordReader:
    """A re-iterable stream of :class:`Record` values from one input, validated up front.

    Parameters
    ----------
    path : the input file or saved-dataset folder.
    text_field : field holding the trace text (required in every record).
    prompt_field, group_field, pair_field, model_field, sample_group_field : optional fields for the prompt, the
        group (e.g. the model), the pairing key (e.g. the problem), the model that wrote the trace (a model spec
        to score it with) and the prompt several samples share (for their diversity); a name given must exist in
        the input.
    temperature_field, policy_field : optional fields naming the temperature a trace was sampled at (to score it
        at that temperature) and the name of the model that sampled it (to tell on-policy scores).
    id_field : field holding the record id. The default ``"id"`` may be absent from the input (records are then
        known by their line); any other name must exist. None: no ids.
    limit : read only the first ``limit`` records (bad records count).
    format : one of ``FORMATS``; default from the path.

    Raises
    ------
    InputError : the input does not exist, its format is unknown, or a named field occurs nowhere in it.
    """

    def __init__(self, path: str | Path, text_field: str = "trace", prompt_field: str | None = None,
                 id_field: str | None = "id", group_field: str | None = None, pair_field: str | None = None,
                 model_field: str | None = None, sample_group_field: str | None = None,
                 temperature_field: str | None = None, policy_field: str | None = None, limit: int | None = None,
                 format: str | None = None) -> None:
        self.path = check_path("path", path)
        if not self.path.exists():
            raise InputError(f"input not found: {self.path}")
        named = {"text_field": text_field, "prompt_field": prompt_field, "id_field": id_field,
                 "group_field": group_field, "pair_field": pair_field, "model_field": model_field}
        for name, value in named.items():
            if not (isinstance(value, str) and value or value is None and name != "text_field"):
                raise InputError(f"{opt(name)} must name a field, got {value!r}")
        check_optional_int("limit", limit, low=0)
        if format is not None and format not in FORMATS:
            raise InputError(f"{opt('format')} must be one of {', '.join(FORMATS)}, got {format!r}")
        self.format = format or detect_format(self.path)
        self.limit = limit
        self.fields = {"text": text_field, "prompt": prompt_field, "id": id_field, "group": group_field,
                       "pair": pair_field, "model": model_field, "sample_group": sample_group_field,
                       "temperature": temperature_field, "policy": policy_field}
        self._check_fields()

    # ------------------------------------------------------------------ validation
    def _check_fields(self) -> None:
        wanted = {name for name in self.fields.values() if name}
        found = self._present_fields(wanted)
        if not found or self.format != "jsonl" and self._first_row() is None:
            self._check_not_empty()
        if self.fields["id"] == "id" and "id" not in found:
            self.fields["id"] = None  # the default id field is optional
            wanted.discard("id")
        missing = [f"{opt(role + '_field')} {name!r}" for role, name in self.fields.items() if name and name not in found]
        if missing:
            known = sorted(found if self.format == "jsonl" else self._columns())
            hint = f"; fields in the input: {', '.join(known)}" if known else ""
            raise InputError(f"{self.path}: unknown field name: {', '.join(missing)}{hint}")

    def _present_fields(self, wanted: set[str]) -> set[str]:
        if self.format != "jsonl":
            return set(self._columns())
        self._check_not_an_array()
        # JSONL has no header: scan records until every wanted field was seen (usually the first record).
        seen: set[str] = set()
        for _, obj, err in self._jsonl_objects():
            if err is None:
                seen.update(obj)
                if wanted <= seen:
                    break
        return seen

    def _first_row(self) -> Any:
        """The first record of a CSV, Parquet or saved dataset, or None (cheap: stops there)."""
        if self.format in ("csv", "tsv"):
            return next(iter(self._csv_rows()), None)
        n = _parquet_file(self.path).metadata.num_rows if self.format == "parquet" else _hf_num_rows(self.path)
        return n or None

    def _check_not_empty(self) -> None:
        """An input with no records at all is refused as such, not as one without the named fields."""
        if self.format == "jsonl":
            with open(self.path, "rb") as f:
                lines = sum(1 for raw in f if raw.strip())
            if lines:
                first = next((f" (line {line}: {err})" for line, _, err in self._jsonl_objects() if err), "")
                raise InputError(f"{self.path}: none of its {lines} lines is a JSON object with fields{first}")
        what = "a header but no records" if self.format in ("csv", "tsv") and self._columns() else "no records"
        raise InputError(f"{self.path} holds {what}")

    def _check_not_an_array(self) -> None:
        """A .json file holding one JSON array of records (pretty-printed, or on one line) is not JSON Lines: say
        so, rather than report every line as a bad record."""
        with open(self.path, "rb") as f:
            first = next((raw.strip() for raw in f if raw.strip()), b"").removeprefix(b"\xef\xbb\xbf")
        if not first.startswith(b"["):
            return
        try:
            value = json.loads(first)
        except (ValueError, RecursionError):
            value = None  # the array goes on over the next lines
        if value is None or isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            raise InputError(f"{self.path} holds one JSON array, not JSON Lines (one record object per line); "
                             f"convert it, e.g. with: jq -c '.[]' {self.path.name} > {self.path.stem}.jsonl")

    def _columns(self) -> list[str]:
        if self.format in ("csv", "tsv"):
            csv.field_size_limit(_CSV_FIELD_LIMIT)
            with self._open_csv() as f:
                return next(csv.reader(f, delimiter=self._delimiter), [])
        if self.format == "parquet":
            return list(_parquet_file(self.path).schema_arrow.names)
        if self.format == "hf":
            return list(_hf_columns(self.path))
        return []

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Iterator[Record]:
        return islice(self._records(), self.limit)

    def sha256(self) -> str:
        """Content hash of the input (every file of a saved-dataset folder), so a changed input is not resumed."""
        if self.path.is_file():
            return file_sha256(self.path)
        h = hashlib.sha256()
        for p in sorted(q for q in self.path.rglob("*") if q.is_file()):
            h.update(str(p.relative_to(self.path)).encode() + b"\0" + file_sha256(p).encode())
        return h.hexdigest()

    def scan(self) -> "Scan":
        """One pass over the records: how many, how many characters, and the groups and models they name."""
        scan = Scan()
        for rec in self:
            scan.n_records += 1
            scan.n_chars += rec.size
            if rec.ok:
                scan.groups[rec.group] = scan.groups.get(rec.group, 0) + 1
                if rec.model is not None:
                    scan.models[rec.model] = scan.models.get(rec.model, 0) + 1
        return scan

    def count(self) -> int:
        """Number of records :meth:`__iter__` yields (one cheap pass that parses nothing it can skip)."""
        if self.format == "jsonl":
            with open(self.path, "rb") as f:
                n = sum(1 for raw in f if raw.strip())
        elif self.format == "parquet":
            n = _parquet_file(self.path).metadata.num_rows
        elif self.format == "hf":
            n = _hf_num_rows(self.path)
        else:
            n = sum(1 for _ in self._csv_rows())
        return n if self.limit is None else min(n, self.limit)

    def _records(self) -> Iterator[Record]:
        if self.format == "jsonl":
            for line, obj, err in self._jsonl_objects():
                yield self._make(line, obj) if err is None else Record(line=line, error=err)
        elif self.format in ("csv", "tsv"):
            for line, row, err in self._csv_rows():
                yield self._make(line, row) if err is None else Record(line=line, error=err)
        else:
            rows = _parquet_rows(self.path, self._used()) if self.format == "parquet" else _hf_rows(self.path,
                                                                                                  self._used())
            for i, row in enumerate(rows):
                yield self._make(i + 1, row)

    def _used(self) -> list[str]:
        return list(dict.fromkeys(name for name in self.fields.values() if name))

    def _make(self, line: int, obj: dict[str, Any]) -> Record:
        """Validate one decoded record's fields and build its :class:`Record`."""
        f = self.fields
        rid = _as_key(obj.get(f["id"])) if f["id"] else None
        unicode = next((role for role, name in f.items() if name and _has_surrogate(obj.get(name))), None)
        if unicode is not None:  # JSON escapes such as "\ud800" decode to text that is not Unicode
            return Record(line=line, id=rid.encode("utf-8", "backslashreplace").decode() if rid else rid,
                          error=f"{unicode} field {f[unicode]!r} holds a lone surrogate (a \\ud800-style escape): "
                                "not valid Unicode text")
        base = {"line": line, "id": rid}
        text = obj.get(f["text"])
        if text is None:
            return Record(**base, error=f"missing text field {f['text']!r}")
        if not isinstance(text, str):
            return Record(**base, error=f"text field {f['text']!r} is not a string (got {type(text).__name__})")
        prompt = obj.get(f["prompt"]) if f["prompt"] else None
        if prompt is not None and not isinstance(prompt, str):
            return Record(**base, error=f"prompt field {f['prompt']!r} is not a string "
                                        f"(got {type(prompt).__name__})")
        if not text.strip() and not prompt:  # with a prompt, an empty text is a response that ended at once
            return Record(**base, error=f"empty text in field {f['text']!r}")
        model = _as_key(obj.get(f["model"])) if f["model"] else None
        if f["model"] and not model:
            return Record(**base, error=f"missing model field {f['model']!r}")
        temperature = _temperature(obj.get(f["temperature"])) if f["temperature"] else None
        if f["temperature"] and temperature is None:
            return Record(**base, error=f"temperature field {f['temperature']!r} is not a positive number "
                                        f"(got {obj.get(f['temperature'])!r})")
        return Record(**base, text=text, prompt=prompt or None,
                      group=_as_key(obj.get(f["group"])) if f["group"] else None,
                      pair=_as_key(obj.get(f["pair"])) if f["pair"] else None, model=model,
                      sample_group=_as_key(obj.get(f["sample_group"])) if f["sample_group"] else None,
                      temperature=temperature, policy=_as_key(obj.get(f["policy"])) if f["policy"] else None)

    # ------------------------------------------------------------------ JSONL
    def _jsonl_objects(self) -> Iterator[tuple[int, dict | None, str | None]]:
        """(line, object, error) per non-blank line; bytes are split on b'\\n' only, decoded strictly as UTF-8."""
        with open(self.path, "rb") as f:
            for lineno, raw in enumerate(f, start=1):
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                try:
                    s = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    yield lineno, None, f"undecodable bytes: not UTF-8 (byte 0x{raw[e.start]:02x} at column " \
                                        f"{e.start + 1})"
                    continue
                try:
                    obj = json.loads(s)
                except json.JSONDecodeError as e:
                    yield lineno, None, f"not valid JSON: {e.msg} (column {e.colno})"
                    continue
                except ValueError as e:  # an integer of more digits than Python converts
                    yield lineno, None, f"not valid JSON here: {e}"
                    continue
                except RecursionError:
                    yield lineno, None, "not valid JSON here: nested too deeply"
                    continue
                if not isinstance(obj, dict):
                    yield lineno, None, f"not a JSON object (got {type(obj).__name__})"
                    continue
                yield lineno, obj, None

    # ------------------------------------------------------------------ CSV
    @property
    def _delimiter(self) -> str:
        return "\t" if self.format == "tsv" else ","

    def _open_csv(self):
        # surrogateescape keeps reading past bad bytes; a field holding a surrogate is reported per record.
        return open(self.path, newline="", encoding="utf-8-sig", errors="surrogateescape")

    def _csv_rows(self) -> Iterator[tuple[int, dict | None, str | None]]:
        """(line, row, error) per non-blank record.

        Parsing is strict, so a quote that is never closed does not silently swallow the records after it into
        one field: the field ends at the next quote of the file, which is then followed by text (strict CSV
        wants a delimiter there), or the file ends inside it. Either way, when the broken field runs across
        lines, what follows cannot be trusted and the whole input is refused (InputError naming the line where
        the field opened); a quoting mistake within one line is that record's error. A record with more or
        fewer fields than the header is an error too.
        """
        csv.field_size_limit(_CSV_FIELD_LIMIT)
        with self._open_csv() as f:
            tap = _LineTap(f)
            reader = csv.reader(tap, delimiter=self._delimiter, strict=True)
            try:
                header = next(reader, None)
            except csv.Error as e:
                raise InputError(f"{self.path}: line 1: malformed CSV header: {e}") from None
            if header is None:
                return
            while True:
                start = reader.line_num + 1
                tap.lines.clear()
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as e:
                    yield start, None, self._quote_error(e, start, reader.line_num, tap.lines)
                    continue
                if not any(v.strip() for v in values):
                    continue  # a blank line is not a record
                if len(tap.lines) > 1:
                    self._check_runaway(values, len(header), start, tap.lines)
                if len(values) != len(header):
                    yield start, None, (f"malformed CSV: {len(values)} fields where the header has {len(header)} "
                                        f"(a field holding the delimiter {self._delimiter!r} must be quoted)")
                    continue
                if any(_has_surrogate(v) for v in values):
                    yield start, None, "undecodable bytes: not UTF-8"
                    continue
                row = {k: (v if v != "" else None) for k, v in zip(header, values)}
                yield start, row, None

    def _quote_error(self, error: csv.Error, start: int, end: int, lines: list[str]) -> str:
        """A record's reason for a strict-parsing error, or InputError for a quoted field that ran across lines."""
        opened = _quote_start(lines, start, self._delimiter)
        eof = "unexpected end of data" in str(error)
        where = "the end of the file" if eof else f"line {end}, where a quote is followed by text"
        if end > opened:
            raise InputError(f"{self.path}: line {opened}: a quoted field opened here is not closed before {where}, "
                             f"so it would swallow the records after it; close the quote (write a quote inside a "
                             f"quoted field as two quotes)")
        if eof:
            return "malformed CSV: a quoted field is not closed before the end of the file"
        return f"malformed CSV: {error} (write a quote inside a quoted field as two quotes)"


    def _check_runaway(self, values: list[str], n_fields: int, start: int, lines: list[str]) -> None:
        """A multi-line field that ends in the start of another record (a line of short values, without spaces,
        and a delimiter, cut where that record's quoted field began) is a quote that was never closed: the quote
        that ended it opened the next record's field. Strict parsing cannot see that case when the quote is
        followed by a line break; this does. (A trace whose last line is one word and a comma looks the same.)"""
        d = self._delimiter
        for v in values:
            last = v.rpartition("\n")[2]
            if "\n" in v and last.endswith(d) and not any(c in last for c in ' "') and last.count(d) < n_fields:
                raise InputError(f"{self.path}: line {_quote_start(lines, start, d)}: a quoted field opened here "
                                 f"ends in what looks like the start of another record ({last!r}), so its closing "
                                 f"quote is probably missing and it swallowed the records after it; close the quote")


class _LineTap:
    """An iterator over a file's lines that keeps those read since ``lines`` was last cleared (one record's)."""

    def __init__(self, f: Any) -> None:
        self._f = f
        self.lines: list[str] = []

    def __iter__(self) -> "_LineTap":
        return self

    def __next__(self) -> str:
        line = next(self._f)
        self.lines.append(line)
        return line


def _quote_start(lines: list[str], first_line: int, delimiter: str) -> int:
    """The line where the quoted field that broke a record opened: the last field-opening quote before the point
    where parsing failed (a closing quote followed by text, or the end of the record's lines)."""
    opened, at_field_start, quoted = first_line, True, False
    text = "".join(lines)
    line, i = first_line, 0
    while i < len(text):
        c = text[i]
        if quoted and c == '"':
            if text[i + 1:i + 2] == '"':
                i += 1  # an escaped quote
            else:
                quoted = False
                if text[i + 1:i + 2] not in ("", delimiter, "\r", "\n"):
                    return opened  # the quote that ended the field early
        elif not quoted and c == '"' and at_field_start:
            quoted, opened = True, line
        at_field_start = not quoted and c in (delimiter, "\n", "\r")
        line += c == "\n"
        i += 1
    return opened


def _as_key(value: Any) -> str | None:
    """Ids, groups and pair keys as strings (1 and "1" pair up), None stays None."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _temperature(value: Any) -> float | None:
    """A sampling temperature: a finite number > 0 (numeric text as in CSV included), else None."""
    try:
        t = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        return None
    return t if math.isfinite(t) and t > 0 else None


def _has_surrogate(value: Any) -> bool:
    """A str holding a lone surrogate: undecodable bytes kept by surrogateescape, or a JSON \\ud800 escape."""
    return isinstance(value, str) and _SURROGATE.search(value) is not None


# ---------------------------------------------------------------------- Parquet and saved datasets (pyarrow)
def _require_pyarrow():
    if importlib.util.find_spec("pyarrow") is None:
        raise InputError("reading Parquet or saved datasets needs pyarrow: pip install 'reasongraph[parquet]'")


def _parquet_file(path: Path):
    _require_pyarrow()
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputError(f"{path}: cannot read as Parquet: {e}") from None


def _parquet_rows(path: Path, columns: list[str]) -> Iterator[dict]:
    for batch in _parquet_file(path).iter_batches(batch_size=_BATCH_ROWS, columns=columns):
        yield from batch.to_pylist()


def _hf_state(path: Path) -> dict:
    try:
        return json.loads((path / "state.json").read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: unreadable state.json of a saved dataset: {e}") from None


def _hf_has_datasets() -> bool:
    import importlib.util

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


def _hf_columns(path: Path) -> list[str]:
    if _hf_has_datasets():
        return list(_hf_dataset(path).column_names)
    _require_pyarrow()
    import pyarrow as pa

    files = _hf_state(path).get("_data_files", [])
    if not files:
        return []
    with pa.memory_map(str(path / files[0]["filename"])) as source:
        return list(pa.ipc.open_stream(source).schema.names)


def _hf_num_rows(path: Path) -> int:
    if _hf_has_datasets():
        return len(_hf_dataset(path))
    return sum(b.num_rows for b in _hf_arrow_batches(path, columns=[]))


def _hf_rows(path: Path, columns: list[str]) -> Iterator[dict]:
    if _hf_has_datasets():
        ds = _hf_dataset(path).select_columns(columns)
        for batch in ds.iter(batch_size=_BATCH_ROWS):  # memory-mapped: flat in the dataset's size
            n = len(batch[columns[0]])
            for i in range(n):
                yield {c: batch[c][i] for c in columns}
        return
    for batch in _hf_arrow_batches(path, columns):
        yield from batch.to_pylist()

"""Reading a dataset of traces as a stream of :class:`Record` (see the package docstring): :class:`RecordReader` and
the input formats."""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from reasongraph.core.checks import check_optional_int, check_path
from reasongraph.core.errors import InputError, opt
from reasongraph.core.hashing import RECORDS_V1, tree_sha256
from reasongraph.core.text import has_lone_surrogate
from reasongraph.runs.records.columnar import hf_columns, hf_num_rows, hf_rows, parquet_file, parquet_rows
from reasongraph.runs.records.formats import FORMATS, detect_format
from reasongraph.runs.records.options import ReadOptions
from reasongraph.runs.records.record import Record, Scan, as_key, as_temperature
from reasongraph.runs.records.text_formats import LineTap, quote_start


_CSV_FIELD_LIMIT = 2**31 - 1  # traces are often longer than csv's default limit of 128 KiB per field


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

    def __init__(self, path: str | Path, text_field: str = ReadOptions.text_field, prompt_field: str | None = None,
                 id_field: str | None = ReadOptions.id_field, group_field: str | None = None,
                 pair_field: str | None = None, model_field: str | None = None, sample_group_field: str | None = None,
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
        n = parquet_file(self.path).metadata.num_rows if self.format == "parquet" else hf_num_rows(self.path)
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
            return list(parquet_file(self.path).schema_arrow.names)
        if self.format == "hf":
            return list(hf_columns(self.path))
        return []

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Iterator[Record]:
        return islice(self._records(), self.limit)

    def sha256(self) -> str:
        """Content hash of the input (every file of a saved-dataset folder), so a changed input is not resumed."""
        return tree_sha256(self.path, scheme=RECORDS_V1)

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
            n = parquet_file(self.path).metadata.num_rows
        elif self.format == "hf":
            n = hf_num_rows(self.path)
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
            rows = parquet_rows(self.path, self._used()) if self.format == "parquet" else hf_rows(self.path,
                                                                                                  self._used())
            for i, row in enumerate(rows):
                yield self._make(i + 1, row)

    def _used(self) -> list[str]:
        return list(dict.fromkeys(name for name in self.fields.values() if name))

    def _make(self, line: int, obj: dict[str, Any]) -> Record:
        """Validate one decoded record's fields and build its :class:`Record`."""
        f = self.fields
        rid = as_key(obj.get(f["id"])) if f["id"] else None
        unicode = next((role for role, name in f.items() if name and has_lone_surrogate(obj.get(name))), None)
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
        model = as_key(obj.get(f["model"])) if f["model"] else None
        if f["model"] and not model:
            return Record(**base, error=f"missing model field {f['model']!r}")
        temperature = as_temperature(obj.get(f["temperature"])) if f["temperature"] else None
        if f["temperature"] and temperature is None:
            return Record(**base, error=f"temperature field {f['temperature']!r} is not a positive number "
                                        f"(got {obj.get(f['temperature'])!r})")
        return Record(**base, text=text, prompt=prompt or None,
                      group=as_key(obj.get(f["group"])) if f["group"] else None,
                      pair=as_key(obj.get(f["pair"])) if f["pair"] else None, model=model,
                      sample_group=as_key(obj.get(f["sample_group"])) if f["sample_group"] else None,
                      temperature=temperature, policy=as_key(obj.get(f["policy"])) if f["policy"] else None)

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
            tap = LineTap(f)
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
                if any(has_lone_surrogate(v) for v in values):
                    yield start, None, "undecodable bytes: not UTF-8"
                    continue
                row = {k: (v if v != "" else None) for k, v in zip(header, values)}
                yield start, row, None

    def _quote_error(self, error: csv.Error, start: int, end: int, lines: list[str]) -> str:
        """A record's reason for a strict-parsing error, or InputError for a quoted field that ran across lines."""
        opened = quote_start(lines, start, self._delimiter)
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
                raise InputError(f"{self.path}: line {quote_start(lines, start, d)}: a quoted field opened here "
                                 f"ends in what looks like the start of another record ({last!r}), so its closing "
                                 f"quote is probably missing and it swallowed the records after it; close the quote")

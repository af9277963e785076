"""What reading JSON Lines and CSV needs: the raw lines of a record, quote errors."""
from __future__ import annotations

from typing import Any


class LineTap:
    """An iterator over a file's lines that keeps those read since ``lines`` was last cleared (one record's)."""

    def __init__(self, f: Any) -> None:
        self._f = f
        self.lines: list[str] = []

    def __iter__(self) -> "LineTap":
        return self

    def __next__(self) -> str:
        line = next(self._f)
        self.lines.append(line)
        return line


def quote_start(lines: list[str], first_line: int, delimiter: str) -> int:
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

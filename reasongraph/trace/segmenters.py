"""The segmenters: how a trace's text is cut into steps (names, ``window:N``), checked."""
from __future__ import annotations

import re

from reasongraph.core.errors import InputError, opt


SEGMENTERS = ("newline", "sentence", "paragraph", "window:N", "token")
MIN_LINE_CHARS = 5  # the paper keeps stripped lines longer than this

_LINE = re.compile(r"[^\r\n]+")
_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*\Z)", re.DOTALL)
_SENTENCE = re.compile(r"[^\s](?:.*?)(?:[.!?](?=\s)|(?=\s*\n)|\Z)", re.DOTALL)


def validate_segmenter(segment: str) -> str:
    """Return ``segment`` if it names a segmenter, else raise an InputError (a ValueError) listing the valid ones."""
    if segment in ("newline", "sentence", "paragraph", "token"):
        return segment
    if isinstance(segment, str) and segment.startswith("window:") and segment[7:].isdigit() and int(segment[7:]) > 0:
        return segment
    raise InputError(f"{opt('segment')} must be one of {', '.join(SEGMENTERS)} (N a positive integer), got "
                     f"{segment!r}")


def char_spans(text: str, segment: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the steps of ``text`` for the text-based segmenters.

    newline: each line, stripped, kept when longer than 5 characters (Topology of Reasoning);
    paragraph: blocks separated by blank lines, stripped; sentence: runs ending in . ! or ? followed by white
    space, or at a line end, stripped.
    """
    if segment == "newline":
        spans = (_strip_span(text, m.start(), m.end()) for m in _LINE.finditer(text))
        return [(a, b) for a, b in spans if b - a > MIN_LINE_CHARS]
    pattern = {"paragraph": _PARAGRAPH, "sentence": _SENTENCE}[segment]
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end

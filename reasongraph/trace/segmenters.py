"""The segmenters: how a trace's text is cut into steps. One registry of names (``newline``, ``sentence``,
``paragraph``, ``window:N``, ``token``, and any added with :func:`register_segmenter`), parsed in one place
(:func:`parse_segmenter`).

A segmenter works at one of two levels: ``chars`` (``text -> [(start, end)]`` character spans) or ``tokens``
(``n_tokens -> [(a, b)]`` token spans). A parametrized one is written ``NAME:N`` with N a positive integer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal

from reasongraph.core.errors import InputError, opt

__all__ = ["MIN_LINE_CHARS", "Segmenter", "char_spans", "parse_segmenter", "register_segmenter", "segmenter_names",
           "unregister_segmenter", "validate_segmenter"]

MIN_LINE_CHARS = 5  # the paper keeps stripped lines longer than this

_LINE = re.compile(r"[^\r\n]+")
_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*\Z)", re.DOTALL)
_SENTENCE = re.compile(r"[^\s](?:.*?)(?:[.!?](?=\s)|(?=\s*\n)|\Z)", re.DOTALL)

Level = Literal["chars", "tokens"]


@dataclass(frozen=True)
class Segmenter:
    """A parsed segmenter: ``spec`` is what the user wrote (it goes into identities and cache keys as is)."""

    spec: str
    level: Level
    spans: Callable[..., list[tuple[int, int]]]


@dataclass(frozen=True)
class _Registered:
    fn: Callable[..., list[tuple[int, int]]]
    level: Level
    parametrized: bool


_REGISTRY: dict[str, _Registered] = {}


def register_segmenter(name: str, fn: Callable | None = None, *, level: Level = "chars",
                       parametrized: bool = False) -> Callable:
    """Register ``fn`` as the segmenter ``name`` (also a decorator: ``@register_segmenter("bullets")``).

    ``level="chars"``: ``fn(text)`` returns character spans; ``"tokens"``: ``fn(n_tokens)`` returns token spans.
    ``parametrized``: written ``name:N`` and called with N (a positive int) as the second argument.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w-]*", name):
        raise InputError(f"register_segmenter: a segmenter name is a word, got {name!r}")
    if level not in ("chars", "tokens"):
        raise InputError(f"register_segmenter: level must be chars or tokens, got {level!r}")

    def add(f: Callable) -> Callable:
        _REGISTRY[name] = _Registered(f, level, parametrized)
        return f

    return add(fn) if fn is not None else add


def unregister_segmenter(name: str) -> None:
    """Remove the segmenter registered as ``name`` (a no-op when there is none)."""
    _REGISTRY.pop(name, None)


def segmenter_names() -> tuple[str, ...]:
    """The registered segmenters as written (a parametrized one as ``name:N``), in registration order."""
    return tuple(f"{name}:N" if r.parametrized else name for name, r in _REGISTRY.items())


def parse_segmenter(segment: str | Callable) -> Segmenter:
    """The segmenter ``segment`` names (``window:N``'s N parsed here), or a callable ``text -> spans`` as it is.

    Raises
    ------
    InputError : ``segment`` names no registered segmenter, or its N is not a positive integer.
    """
    if callable(segment):
        return Segmenter(getattr(segment, "__name__", repr(segment)), "chars", segment)
    name, colon, arg = segment.partition(":") if isinstance(segment, str) else ("", "", "")
    found = _REGISTRY.get(name)
    n_ok = not colon or arg.isascii() and arg.isdigit() and int(arg) > 0
    if found is not None and found.parametrized == bool(colon) and n_ok:
        if not colon:
            return Segmenter(segment, found.level, found.fn)
        n, fn = int(arg), found.fn
        return Segmenter(segment, found.level, lambda x: fn(x, n))
    raise InputError(f"{opt('segment')} must be one of {', '.join(segmenter_names())} (N a positive integer), got "
                     f"{segment!r}")


def validate_segmenter(segment: str) -> str:
    """Return ``segment`` if it names a segmenter, else raise an InputError (a ValueError) listing the valid ones."""
    if callable(segment):  # options name their segmenter: it keys caches and run identities
        raise InputError(f"{opt('segment')} must be a segmenter's name ({', '.join(segmenter_names())}); register "
                         f"a function with reasongraph.trace.register_segmenter, got {segment!r}")
    parse_segmenter(segment)
    return segment


def char_spans(text: str, segment: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the steps of ``text`` for a text-based (``chars``) segmenter."""
    found = parse_segmenter(segment)
    if found.level != "chars":
        raise InputError(f"{opt('segment')} {segment!r} cuts tokens, not characters")
    return found.spans(text)


def newline(text: str) -> list[tuple[int, int]]:
    """Each line, stripped, kept when longer than 5 characters (Topology of Reasoning)."""
    spans = (_strip_span(text, m.start(), m.end()) for m in _LINE.finditer(text))
    return [(a, b) for a, b in spans if b - a > MIN_LINE_CHARS]


def sentence(text: str) -> list[tuple[int, int]]:
    """Runs ending in . ! or ? followed by white space, or at a line end, stripped."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text)]


def paragraph(text: str) -> list[tuple[int, int]]:
    """Blocks separated by blank lines, stripped."""
    return [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text)]


def window(n_tokens: int, size: int) -> list[tuple[int, int]]:
    """Consecutive windows of ``size`` tokens (the last one shorter)."""
    return [(i, min(i + size, n_tokens)) for i in range(0, n_tokens, size)]


def token(n_tokens: int) -> list[tuple[int, int]]:
    """Each token its own step."""
    return [(i, i + 1) for i in range(n_tokens)]


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


register_segmenter("newline", newline)
register_segmenter("sentence", sentence)
register_segmenter("paragraph", paragraph)
register_segmenter("window", window, level="tokens", parametrized=True)
register_segmenter("token", token, level="tokens")

"""Exceptions with a meaning for users: bad input is exit code 2 on the command line, anything else exit 1.

A message names what is wrong in the words of whoever called. Library code writes an option it refers to as
``opt("truncate", "True")``; the message then reads "truncate=True" from Python and "--truncate" on the command
line. The command line runs a command inside :func:`spelled` with its parser's option strings, so every
rendering of an InputError during the command (its one-line error, a skipped record's log line, the reason
written to a run's errors.jsonl) uses flags.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_OPTION = re.compile(r"\{opt:([A-Za-z_][A-Za-z0-9_]*)(?:=([^{}]*))?\}")


def opt(name: str, value: object = None) -> str:
    """A placeholder for the parameter ``name`` (optionally with an example ``value``) inside an error message."""
    return "{opt:" + name + ("" if value is None else f"={value}") + "}"


def python_spelling(name: str, value: str | None) -> str:
    """How Python callers read an option: ``name`` or ``name=value``."""
    return name if value is None else f"{name}={value}"


Spelling = Callable[[str, "str | None"], str]
_spelling: ContextVar[Spelling] = ContextVar("reasongraph_spelling", default=python_spelling)


@contextmanager
def spelled(spell: Spelling) -> Iterator[None]:
    """Within the block, InputErrors render option placeholders with ``spell`` (the command line's flags)."""
    token = _spelling.set(spell)
    try:
        yield
    finally:
        _spelling.reset(token)


class ReasongraphError(Exception):
    """Base class of reasongraph's own errors."""


class InputError(ReasongraphError, ValueError):
    """The user's input is wrong (a file, a field, a record, an option); the message says what and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.template = message

    def render(self, spell: Spelling | None = None) -> str:
        """The message with every option placeholder written by ``spell(name, value)`` (default: the spelling in
        effect, see :func:`spelled`; Python's ``name=value`` outside one)."""
        spell = spell or _spelling.get()
        return _OPTION.sub(lambda m: spell(m.group(1), m.group(2)), self.template)

    def __str__(self) -> str:
        return self.render()


class ModelNotAvailableError(InputError, RuntimeError):
    """The requested model cannot be loaded here; the message says what was looked for, where, and how to make it
    available. It is bad input (a name, a path) like any other, so callers catch InputError."""

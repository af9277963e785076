"""Exceptions with a meaning for users: bad input is exit code 2 on the command line, anything else exit 1."""
from __future__ import annotations


class ReasongraphError(Exception):
    """Base class of reasongraph's own errors."""


class InputError(ReasongraphError, ValueError):
    """The user's input is wrong (a file, a field, a record, an option); the message says what and where."""


class ModelNotAvailableError(ReasongraphError, RuntimeError):
    """The requested model cannot be loaded here; the message says how to make it available."""

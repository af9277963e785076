"""How the command line talks: help that states every default, option types with clear messages, and library
errors worded in flags rather than parameter names."""
from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable

__all__ = ["HelpFormatter", "flag_spelling"]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps option help and descriptions at the terminal's width and appends every default that says something
    (not None or False: an option whose default is None states in its own words what happens without it); a
    paragraph of a description or epilog with indented lines (an example command) keeps
    its own line breaks."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = text.strip("\n").split("\n\n")
        return "\n\n".join(p if any(line.startswith("  ") for line in p.splitlines())
                            else textwrap.fill(" ".join(p.split()), width, initial_indent=indent,
                                               subsequent_indent=indent) for p in paragraphs)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        # identity, not ==: a default of 0 (a seed, a lookback) is stated; None and False say nothing by themselves
        if "%(default)" in text or default is None or default is False or default is argparse.SUPPRESS \
                or not action.option_strings:
            return text
        shown = ", ".join(map(str, default)) if isinstance(default, (list, tuple)) else "%(default)s"
        return f"{text} (default: {shown})"


def flag_spelling(parser: argparse.ArgumentParser) -> Callable[[str, str | None], str]:
    """How this command's users read a parameter named in a library error: its flag (with the value for options
    that take one), or the parameter name when the command has no flag for it."""
    flags = {a.dest: a for a in parser._actions if a.option_strings}

    def spell(name: str, value: str | None) -> str:
        action = flags.get(name)
        if action is None:
            return name if value is None else f"{name}={value}"
        flag = max(action.option_strings, key=len)
        takes_value = action.nargs != 0
        return f"{flag} {value}" if takes_value and value is not None else flag

    return spell

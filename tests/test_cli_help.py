"""Every option of every command states its default in --help (issue 21.4), checked on the parser the CLI builds."""
from __future__ import annotations

import argparse

import pytest

from reasongraph.cli.app import build_parser
from reasongraph.cli.formatting import HelpFormatter

#: Actions that take no value: their default (off, or nothing to count) needs no word.
FLAGS = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._CountAction, argparse._HelpAction,
         argparse._VersionAction)

#: Options without a default at all: required ones. Each entry is checked to be required, so the list cannot rot.
NO_DEFAULT = {
    ("score", "out"),      # the run folder: there is no sensible place to write by default
    ("generate", "out"),   # the samples file
    ("compare", "a"),      # the two groups compared: the data cannot tell which is the reference
    ("compare", "b"),
    ("sweep", "prompts"),  # the probe prompts
    ("sweep", "out"),      # the output folder
    ("locus", "a"),        # the two models compared
    ("locus", "b"),
}


def _commands() -> list[tuple[str, argparse.ArgumentParser]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [("reasongraph", parser), *sub.choices.items()]


def _options() -> list[tuple[str, argparse.Action]]:
    return [(name, action) for name, p in _commands() for action in p._actions
            if action.option_strings and not isinstance(action, FLAGS)]


def test_every_command_has_options():
    names = {name for name, _ in _options()}
    assert {"analyze", "score", "compare", "html", "generate", "sweep", "locus"} <= names


@pytest.mark.parametrize("name, action", _options(), ids=lambda v: v if isinstance(v, str) else v.option_strings[0])
def test_option_states_its_default(name, action):
    """The help line as the CLI renders it names the default (or the option is required, listed above)."""
    if (name, action.dest) in NO_DEFAULT:
        assert action.required, f"{name} {action.option_strings}: listed as having no default but not required"
        return
    rendered = HelpFormatter(name)._get_help_string(action) % {"default": action.default}
    assert "default" in rendered.lower(), f"{name} {action.option_strings}: {rendered!r} states no default"


def test_a_zero_default_is_stated():
    """A default of 0 (the seed, the lookback) was dropped by an equality test with False."""
    seed = next(a for name, a in _options() if name == "score" and a.dest == "seed")
    assert HelpFormatter("score")._get_help_string(seed).endswith("(default: %(default)s)")


def test_help_renders_every_command():
    for _, parser in _commands()[1:]:
        assert "(default: " in parser.format_help()

"""The option classes of generate, the probe, sweep, locus and compare: one definition each, read by the entry
points (keywords or one ``options`` object) and by the command line (flags with the API's defaults)."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from reasongraph.analysis.groups.comparison import compare_groups
from reasongraph.analysis.groups.level_collapse import collapse_table
from reasongraph.analysis.groups.options import CompareOptions
from reasongraph.cli.app import build_parser
from reasongraph.core.errors import InputError
from reasongraph.runs.generate.options import SampleOptions
from reasongraph.train.locus.options import LocusOptions
from reasongraph.train.probe.options import ProbeOptions
from reasongraph.train.probe.probe import ExplorationProbe
from reasongraph.train.sweep import sweep
from reasongraph.train.sweep_options import SweepOptions

MODULES = ["reasongraph.runs.generate.options", "reasongraph.train.probe.options", "reasongraph.train.sweep_options",
           "reasongraph.train.locus.options", "reasongraph.analysis.groups.options"]
#: Flags whose command-line default differs from the API's on purpose: compare reads the run's own fields.
CLI_DEFAULTS = {("compare", "group_field"): None, ("compare", "pair_field"): None}


def _parse(command: str, *argv: str) -> argparse.Namespace:
    required = {"generate": ["P", "--out", "O"], "sweep": ["C", "--prompts", "P", "--out", "O"],
                "locus": ["T", "--a", "A", "--b", "B"], "compare": ["R", "--a", "A", "--b", "B"]}[command]
    return build_parser().parse_args([command, *required, *argv])


@pytest.mark.parametrize("command, classes", [("generate", [SampleOptions]), ("sweep", [ProbeOptions, SweepOptions]),
                                              ("locus", [LocusOptions]), ("compare", [CompareOptions])])
def test_the_flags_default_to_the_api_defaults(command, classes):
    ns = _parse(command)
    for cls in classes:
        api = cls.checked()
        for name in cls.names():
            if hasattr(ns, name):
                repeat = cls.__dataclass_fields__[name].metadata["option"].repeat  # not given: None, the default
                expected = None if repeat else CLI_DEFAULTS.get((command, name), getattr(api, name))
                assert getattr(ns, name) == expected, (command, name)
        if command != "compare":
            assert cls.from_args(ns) == api


def test_flags_reach_the_options():
    ns = _parse("generate", "--samples", "3", "--top-p", "0.5", "--score", "--layer", "1", "--layer", "0.5")
    o = SampleOptions.from_args(ns)
    assert (o.samples, o.top_p, o.score, o.layers) == (3, 0.5, True, (1, 0.5))  # kept as a tuple, as ExtractOptions
    assert ProbeOptions.from_args(_parse("sweep", "--k", "7", "--layer", "-1")).k == 7
    assert ProbeOptions.from_args(_parse("sweep")).k == "auto"
    assert LocusOptions.from_args(_parse("locus", "--group-by", "g", "--limit", "0")).group_field == "g"


def test_a_bad_value_names_its_option():
    with pytest.raises(InputError, match="k must be a whole number or auto, got 'many'"):
        ProbeOptions.checked(k="many")
    with pytest.raises(InputError, match="max_tokens must be >= 2"):
        LocusOptions.checked(max_tokens=1)
    with pytest.raises(InputError, match="layers, segment, cache_dir and keep_hidden apply to score"):
        SampleOptions.checked(keep_hidden=True)
    with pytest.raises(InputError, match="reward_field must name a logged field"):
        SweepOptions.checked(reward_field="")


def test_options_or_keywords_not_both_and_unknown_keywords_are_typos():
    rows = [{"group": g, "pair": p, "x": float(i)} for i, (g, p) in enumerate([("a", 1), ("b", 1), ("a", 2),
                                                                               ("b", 2)])]
    by_object = compare_groups(rows, "a", "b", options=CompareOptions.checked(metrics=["x"], n_boot=50))
    by_keywords = compare_groups(rows, "a", "b", metrics=["x"], n_boot=50)
    assert by_object.as_dict() == by_keywords.as_dict()
    with pytest.raises(InputError, match="not both"):
        compare_groups(rows, "a", "b", options=CompareOptions.checked(), n_boot=50)
    with pytest.raises(TypeError, match="did you mean 'n_boot'"):
        collapse_table(rows, "a", "b", n_bot=50)
    with pytest.raises(TypeError, match="did you mean 'samples'"):
        sweep(["nowhere"], ["a prompt"], sampels=2)
    with pytest.raises(InputError, match="ProbeOptions"):
        ExplorationProbe(["a prompt"], options=SweepOptions.checked())


def test_the_option_modules_load_no_numpy():
    code = f"import sys\nfor m in {MODULES!r}: __import__(m)\nprint('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"

"""The options machinery (reasongraph.core.options): checks, identity, flags, composition, keywords, docs."""
from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from reasongraph.core.errors import InputError
from reasongraph.core.options import (SEED, Choice, Each, Flag, Int, Number, OptionalInt, Options, Seeded, Text,
                                      compose, derived, markdown, option, positive_int, split_keywords)


@dataclasses.dataclass(frozen=True)
class _Alpha(Options):
    """Alpha options of the tests."""

    count: int = option(3, check=Int(low=1), help="how many", metavar="N")
    share: float = option(0.5, check=Number(0, 1, low_open=True), help="a share", to_identity=float)
    mode: str = option("a", check=Choice("a", "b"), help="the mode")
    loud: bool = option(False, check=Flag(), help="say more")
    items: tuple = option((1,), check=Each(Int()), help="repeatable", flag="--item", repeat=True, parse=int)
    path: str | None = option(None, check=OptionalInt(low=0), help="not in the identity", identity=False,
                              parse=positive_int, section="run")


@dataclasses.dataclass(frozen=True)
class _Beta(Options):
    name: str = option("x", check=Text(), help="a name", flag="--called", aliases=("--named",))
    hidden_thing: int | None = option(None, check=OptionalInt(low=1), help="secret", cli=False)

    def validate(self) -> None:
        if self.name == "bad" and self.hidden_thing is None:
            raise InputError("bad without hidden_thing")


@dataclasses.dataclass(frozen=True)
class _Gamma(Options):
    count: int = derived("_Alpha.count", default=7, help="how many here")
    seed: int = SEED


def test_checked_keeps_values_and_defaults():
    a = _Alpha.checked(count=np.int64(4), share=0.25)
    assert (a.count, a.share, a.mode, a.loud, a.items) == (4, 0.25, "a", False, (1,))
    assert _Alpha.checked() == _Alpha()


@pytest.mark.parametrize("given, message", [
    ({"count": 0}, "count must be >= 1, got 0"),
    ({"count": 1.5}, "count must be a whole number, got 1.5"),
    ({"count": True}, "count must be a whole number, got True"),
    ({"share": 0}, "share must be a finite number > 0 and <= 1, got 0"),
    ({"share": "x"}, "share must be a number, got 'x'"),
    ({"mode": "c"}, "mode must be one of a, b; got 'c'"),
    ({"loud": 1}, "loud must be True or False, got 1"),
])
def test_checked_raises_the_first_bad_option(given, message):
    with pytest.raises(InputError) as e:
        _Alpha.checked(**given)
    assert str(e.value) == message
    assert "{opt:" in e.value.template  # rendered as a flag on the command line


def test_checked_order_is_field_order():
    with pytest.raises(InputError, match="count"):
        _Alpha.checked(mode="c", count=0)


def test_unknown_keyword_is_a_type_error_with_a_close_match():
    with pytest.raises(TypeError, match="did you mean 'count'"):
        _Alpha.checked(cuont=2)


def test_validate_runs_after_the_checks():
    with pytest.raises(InputError, match="bad without"):
        _Beta.checked(name="bad")
    assert _Beta.checked(name="bad", hidden_thing=2).hidden_thing == 2


def test_identity_in_field_order_and_json():
    a = _Alpha.checked(share=1, items=(2, 3))
    assert a.identity() == {"count": 3, "share": 1.0, "mode": "a", "loud": False, "items": [2, 3]}
    assert type(a.identity()["share"]) is float
    assert list(a.identity()) == ["count", "share", "mode", "loud", "items"]
    assert _Alpha.checked(path=3).identity(section="run") == {}


def test_derived_and_shared_options():
    g = _Gamma.checked()
    assert (g.count, g.seed) == (7, 0)
    with pytest.raises(InputError, match="count must be >= 1"):
        _Gamma.checked(count=0)
    with pytest.raises(InputError, match="seed must be between 0 and 4294967295"):
        _Gamma.checked(seed=-1)
    spec = dataclasses.fields(_Gamma)[0].metadata["option"]
    assert (spec.base, spec.help, spec.metavar) == ("_Alpha.count", "how many here", "N")
    with pytest.raises(TypeError, match="no such option"):
        derived("_Alpha.nothing")


def _parser(*classes, **kw):
    p = argparse.ArgumentParser()
    for cls in classes:
        cls.add_arguments(p, **kw)
    return p


def test_flags_generated_from_the_fields():
    p = _parser(_Alpha, _Beta)
    actions = {a.dest: a for a in p._actions if a.option_strings}
    assert "hidden_thing" not in actions
    assert actions["count"].option_strings == ["--count"] and actions["count"].metavar == "N"
    assert actions["count"].default == 3 and actions["count"].type is int
    assert actions["mode"].choices == ("a", "b")
    assert actions["loud"].nargs == 0
    assert actions["items"].option_strings == ["--item"] and actions["items"].default is None
    assert actions["name"].option_strings == ["--called", "--named"]
    assert actions["path"].type is positive_int
    ns = p.parse_args(["--count", "5", "--item", "2", "--item", "4", "--loud", "--named", "z"])
    a, b = _Alpha.from_args(ns), _Beta.from_args(ns)
    assert (a.count, a.items, a.loud, b.name) == (5, (2, 4), True, "z")
    assert _Alpha.from_args(p.parse_args([])) == _Alpha()
    with pytest.raises(SystemExit):
        p.parse_args(["--mode", "c"])


def test_add_arguments_exclude_and_only():
    p = _parser(_Alpha, exclude=("share", "items"))
    dests = [a.dest for a in p._actions if a.option_strings]
    assert "share" not in dests and "items" not in dests and "count" in dests
    p = _parser(_Alpha, only=("mode", "count"))
    assert [a.dest for a in p._actions if a.option_strings] == ["help", "mode", "count"]


def test_compose_is_flat():
    Both = compose("Both", _Alpha, _Beta, Seeded)
    assert Both.names() == _Alpha.names() + _Beta.names() + ("seed",)
    both = Both.checked(count=2, name="q", seed=5)
    assert (both.count, both.name, both.seed) == (2, "q", 5)
    with pytest.raises(InputError, match="bad without"):   # the parts' rules run too
        Both.checked(name="bad")
    with pytest.raises(dataclasses.FrozenInstanceError):
        both.count = 3
    assert both.replace(count=9).count == 9


def test_split_keywords():
    a, b = split_keywords({"count": 2, "name": "n", "other": 1}, _Alpha, _Beta, extra=("other",))
    assert a == {"count": 2} and b == {"name": "n"}
    with pytest.raises(TypeError, match=r"score_dataset\(\) got an unexpected keyword argument 'nmae'; "
                                        r"did you mean 'name'\?"):
        split_keywords({"nmae": 1}, _Alpha, _Beta, where="score_dataset")


def test_markdown_has_one_table_per_class():
    text = markdown([_Alpha, _Beta])
    assert "## _Alpha" in text and "## _Beta" in text and "Alpha options of the tests." in text
    assert "| `count` | `3` | whole number >= 1 | `--count` | how many |" in text
    assert "`--called` `--named`" in text


def test_options_module_is_light():
    code = "import sys, reasongraph.core.options; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_docs_are_generated():
    from pathlib import Path

    from reasongraph.cli.options_doc import options_markdown

    docs = Path(__file__).resolve().parents[1] / "docs" / "options.md"
    assert docs.read_text(encoding="utf-8") == options_markdown(), \
        "docs/options.md is stale: python -m reasongraph.cli.options_doc > docs/options.md"


def test_docs_list_every_options_class():
    """docs/options.md documents every options class (each module ending in options.py, and reasongraph html's)."""
    import importlib
    from pathlib import Path

    from reasongraph.cli.options_doc import CLASSES
    from reasongraph.core import options

    package = Path(__file__).resolve().parents[1] / "reasongraph"
    for path in package.rglob("*options.py"):
        importlib.import_module(".".join(("reasongraph", *path.relative_to(package).with_suffix("").parts)))
    importlib.import_module("reasongraph.cli.html")
    documented = {entry.partition(":")[2] for entry in CLASSES}
    ours = {name for name, cls in options._CLASSES.items()
            if cls.__module__.startswith("reasongraph.") and not name.startswith("_")}
    assert ours <= documented, ours - documented


def test_markdown_names_the_option_a_field_derives_from():
    @dataclasses.dataclass(frozen=True)
    class _Derived(Options):
        seed: int = derived("seed", help="seed of the tests")

    assert "| `seed` (from `seed`) | `0` |" in markdown([_Derived])


def test_a_shared_option_derived_keeps_its_spec_and_takes_the_changes():
    import dataclasses

    from reasongraph.core.options import TITLE, Options, derived

    @dataclasses.dataclass(frozen=True)
    class _Page(Options):
        title: str | None = derived("title", help="the page's title")

    spec = _Page.__dataclass_fields__["title"].metadata["option"]
    assert (spec.base, spec.help, spec.identity, spec.check) == ("title", "the page's title", False,
                                                                 TITLE.metadata["option"].check)
    assert _Page.checked(title="T").title == "T" and _Page.checked().identity() == {}


def test_score_options_identity_is_the_manifest_order():
    from reasongraph.runs.scoring.options import ScoreOptions

    assert list(ScoreOptions.checked().identity()) == [
        "layers", "segment", "prompt_format", "temperature", "truncate", "k", "method", "cluster_by", "fit_sample",
        "rho", "forking_threshold", "rule", "onset_tokens", "lookback", "n_shifts", "batch_size", "keep_hidden",
        "on_error", "seed"]


def test_score_dataset_keywords_and_objects():
    from reasongraph.runs.records.options import ReadOptions
    from reasongraph.runs.scoring.options import EngineOptions, ScoreOptions
    from reasongraph.runs.scoring.score import resolve_score_options

    opts, read, engine = resolve_score_options(None, None, "local", {"k": 8, "rho": 0.1, "group_field": "g",
                                                                     "cache_dir": "c", "workers": 2})
    assert (opts.k, opts.rho, opts.cache_dir, read.group_field, engine.engine, engine.workers) == \
        (8, 0.1, "c", "g", "local", 2)
    given = ScoreOptions.checked(k=3)
    assert resolve_score_options(given, ReadOptions(), EngineOptions(), {})[0] == given
    with pytest.raises(InputError, match="not both"):
        resolve_score_options(given, None, "local", {"rho": 0.3})
    with pytest.raises(TypeError, match="did you mean 'rho'"):
        resolve_score_options(None, None, "local", {"rhoo": 0.3})
    with pytest.raises(InputError, match="must name at least one layer"):
        resolve_score_options(None, None, "local", {"layers": ()})
    # an object built without checked() is checked all the same, before any model loads
    with pytest.raises(InputError, match="k must be"):
        resolve_score_options(ScoreOptions(k=-5), None, "local", {})
    assert resolve_score_options(ScoreOptions(layers=0.5), None, "local", {})[0].layers == (0.5,)


def test_analyze_trace_takes_an_options_object_or_its_keywords():
    from reasongraph.analysis.one_trace import analyze_trace
    from reasongraph.analysis.options import AnalysisOptions
    from reasongraph.analysis.synthetic import synthetic_trace

    trace, labels = synthetic_trace(n_steps=30, n_nodes=6)
    by_keywords = analyze_trace(trace, labels=labels, rho=0.1, n_shifts=10)
    by_object = analyze_trace(trace, labels=labels, options=AnalysisOptions.checked(rho=0.1, n_shifts=10))
    assert by_keywords.params == by_object.params
    assert list(by_keywords.params)[:10] == ["layer", "rho", "forking_threshold", "rule", "onset_tokens", "lookback",
                                             "n_shifts", "seed", "length_bound", "markers"]
    with pytest.raises(InputError, match="not both"):
        analyze_trace(trace, labels=labels, options=AnalysisOptions(), rho=0.1)
    with pytest.raises(TypeError, match="did you mean 'lookback'"):
        analyze_trace(trace, labels=labels, lookbak=1)

"""The Engine protocol and its registry: an engine registered by name (or given as an object) scores a run through
plan, check, pass 1, pass 2 and close, in that order, with the local engine's rows; the pass-2 loop takes every
kind of result (a row, a failure, a trace the engine could not read); bad engine options are one clear error."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from reasongraph.core.errors import InputError
from reasongraph.runs.engines import registry
from reasongraph.runs.engines.local import LocalEngine
from reasongraph.runs.engines.protocol import Engine, Failed, Missing
from reasongraph.runs.scoring.score import score_dataset

REPO = Path(__file__).resolve().parents[1]
WORDS = "so we check again wait maybe compute carefully then divide both sides hmm let me verify".split()
OPTS = dict(prompt_field="problem", group_field="model", batch_size=3, k=4, n_shifts=50, progress=False)


class RecordingEngine:
    """The local engine, with every call of the protocol written down (and optionally a result changed)."""

    name = "recording"
    workers = 1

    def __init__(self, change: dict[int, object] | None = None) -> None:
        self.inner, self.calls, self.change = LocalEngine(), [], change or {}

    @classmethod
    def connect(cls, options):
        engine = cls()
        engine.calls.append("connect")
        RecordingEngine.last = engine
        return engine

    def plan(self, request, reader):
        self.calls.append("plan")
        return self.inner.plan(request, reader)

    def check(self, models, request, *, clusterer):
        self.calls.append("check")
        return self.inner.check(models, request, clusterer=clusterer)

    def pass1(self, state, tally, here, *, clusterer):
        self.calls.append("pass1")
        return self.inner.pass1(state, tally, here, clusterer=clusterer)

    def pass2(self, state, fit, clusterers):
        self.calls.append("pass2")
        for rec, result in self.inner.pass2(state, fit, clusterers):
            yield rec, self.change.get(rec.line, result)

    def close(self):
        self.calls.append("close")


@pytest.fixture(scope="module")
def data(tmp_path_factory, tiny):
    """8 records of two groups, a line that is not JSON; the local engine's run."""
    root = tmp_path_factory.mktemp("engines")
    rng = random.Random(3)
    lines = [json.dumps({"id": f"{g}-{p}", "problem": f"Problem {p}", "model": g,
                         "trace": "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
                                            for _ in range(rng.randint(4, 9)))})
             for p in range(4) for g in ("base", "rl")]
    lines.insert(3, '{"id": "broken", "trace": ')
    (root / "in.jsonl").write_text("\n".join(lines) + "\n")
    rows = score_dataset(root / "in.jsonl", model=tiny, out=root / "local", **OPTS)
    return {"root": root, "input": root / "in.jsonl", "ref": root / "local", "rows": rows, "model": tiny}


def _score(data, out: Path, engine) -> list[dict]:
    return score_dataset(data["input"], model=data["model"], out=out, engine=engine, **OPTS)


def test_a_registered_engine_scores_a_run_in_protocol_order(data, monkeypatch):
    monkeypatch.setitem(registry.ENGINES, "recording", RecordingEngine)
    out = data["root"] / "recording"
    rows = _score(data, out, "recording")
    assert RecordingEngine.last.calls == ["connect", "plan", "check", "pass1", "pass2", "close"]
    assert rows == data["rows"] and len(rows) == 8
    for name in ("rows.jsonl", "errors.jsonl", "fit.json", "models.json"):
        assert (out / name).read_bytes() == (data["ref"] / name).read_bytes(), name
    timing = json.loads((out / "summary.json").read_text())["timing"]
    assert (timing["engine"], timing["workers"]) == ("recording", 1)


def test_register_engine_takes_a_lazy_path(data, monkeypatch):
    monkeypatch.setattr(registry, "ENGINES", dict(registry.ENGINES))
    registry.register_engine("here", "reasongraph.runs.engines.local:LocalEngine")
    assert registry.engine_names() == ("local", "ray", "here")
    assert _score(data, data["root"] / "here", "here") == data["rows"]
    with pytest.raises(InputError, match="non-empty string"):
        registry.register_engine("", LocalEngine)


def test_an_engine_object_is_used_as_given_and_closed_after_a_crash(data):
    engine = RecordingEngine()
    assert isinstance(engine, Engine)

    def crash(*args, **kwargs):
        engine.calls.append("pass1")
        raise KeyboardInterrupt
    engine.pass1 = crash
    with pytest.raises(KeyboardInterrupt):
        _score(data, data["root"] / "crashed", engine)
    assert engine.calls == ["plan", "check", "pass1", "close"]
    resumed = RecordingEngine()
    assert _score(data, data["root"] / "crashed", resumed) == data["rows"]
    assert resumed.calls == ["plan", "check", "pass1", "pass2", "close"]


def test_the_pass_2_loop_takes_failures_and_traces_the_engine_could_not_read(data):
    """Line 2's trace is "missing" on the engine: the loop reads it here and scores the local row; line 5 failed
    on the engine: it goes to errors.jsonl with the engine's reason, and rows + errors still cover every record."""
    out = data["root"] / "changed"
    rows = _score(data, out, RecordingEngine({2: Missing(), 5: Failed("the toy engine refused it")}))
    ref = {r["line"]: r for r in data["rows"]}
    assert [r["line"] for r in rows] == [line for line in ref if line != 5]
    assert all(r == ref[r["line"]] for r in rows)
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert {e["line"]: e["reason"] for e in errors}[5] == "the toy engine refused it"
    assert len(rows) + len(errors) == 9


def test_bad_engine_options_fail_before_any_work(data, tmp_path):
    out = tmp_path / "never"
    with pytest.raises(InputError, match="engine"):
        _score(data, out, "warp")
    with pytest.raises(InputError, match="an engine name"):
        _score(data, out, object())
    with pytest.raises(InputError, match="apply to"):
        score_dataset(data["input"], model=data["model"], out=out, workers=2, **OPTS)
    with pytest.raises(InputError, match="workers"):
        score_dataset(data["input"], model=data["model"], out=out, engine="ray", workers=0, **OPTS)
    assert not out.exists()


def test_naming_the_engines_imports_none():
    code = ("import sys; from reasongraph.runs.engines.registry import engine_names; print(engine_names()); "
            "print(sorted(m for m in ('ray', 'torch', 'reasongraph.runs.engines.local') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin"}).stdout.split("\n")
    assert out[:2] == ["('local', 'ray')", "[]"]


def test_results_out_of_input_order_are_refused(data):
    class Reversed(RecordingEngine):
        def pass2(self, state, fit, clusterers):
            return reversed(list(super().pass2(state, fit, clusterers)))
    with pytest.raises(RuntimeError, match="one per record in input order: line 1 got line 9"):
        _score(data, data["root"] / "reversed", Reversed())

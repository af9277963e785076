"""The run directory: manifest checks, crash-safe appends, torn-line repair, atomic files, the trace cache."""
from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from reasongraph.core.errors import InputError
from reasongraph.runs.folder.writer import RunStore
from reasongraph.core.storage import JsonlAppender, atomic_write, atomic_write_json, read_jsonl, repair_jsonl
from reasongraph.trace.cache import TraceCache
from reasongraph.trace.steps import Step
from reasongraph.trace.trace import Trace

from conftest import wait_for

OPTIONS = {"input": "/data/x.jsonl", "k": 200, "layers": (0.9,), "model": "m"}


def test_repair_cuts_only_a_torn_last_line(tmp_path: Path):
    p = tmp_path / "rows.jsonl"
    p.write_bytes(b'{"line": 1}\n{"line": 2}\n{"line": 3, "x": [1, 2')
    assert repair_jsonl(p) == len(b'{"line": 3, "x": [1, 2')
    assert p.read_bytes() == b'{"line": 1}\n{"line": 2}\n'
    assert repair_jsonl(p) == 0  # complete file: untouched
    p.write_bytes(b'{"li')
    assert repair_jsonl(p) == 4 and p.read_bytes() == b""
    assert repair_jsonl(tmp_path / "missing.jsonl") == 0


def test_repair_finds_a_newline_far_back(tmp_path: Path):
    p = tmp_path / "rows.jsonl"
    head = b'{"line": 1}\n'
    p.write_bytes(head + b"x" * 200_000)  # torn line longer than one read block
    repair_jsonl(p)
    assert p.read_bytes() == head


def test_appender_round_trip_with_nan_and_unicode(tmp_path: Path):
    p = tmp_path / "rows.jsonl"
    with JsonlAppender(p) as app:
        app.append({"line": 1, "v": math.nan, "s": "caf\u00e9 \u2028"})
        app.append({"line": 2, "v": 1.5})
    rows = list(read_jsonl(p))
    assert rows[0]["s"] == "caf\u00e9 \u2028" and math.isnan(rows[0]["v"]) and rows[1] == {"line": 2, "v": 1.5}
    assert p.read_bytes().count(b"\n") == 2  # U+2028 does not break the line


def test_read_jsonl_ignores_torn_tail_and_rejects_corruption(tmp_path: Path):
    p = tmp_path / "rows.jsonl"
    p.write_bytes(b'{"line": 1}\n{"line": 2')
    assert list(read_jsonl(p)) == [{"line": 1}]
    p.write_bytes(b'{"line": 1}\ngarbage\n')
    with pytest.raises(ValueError, match="rows.jsonl:2: corrupt"):
        list(read_jsonl(p))


def test_manifest_accepts_same_options_and_refuses_others(tmp_path: Path):
    out = tmp_path / "run"
    RunStore(out, OPTIONS).close()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["layers"] == [0.9]
    RunStore(out, dict(OPTIONS)).close()  # same options (tuple vs list alike): resumes
    with pytest.raises(InputError, match=r"different options \(k: run has 200, now 50\)"):
        RunStore(out, {**OPTIONS, "k": 50})
    with pytest.raises(InputError, match="different options.*extra: run has None, now 1"):
        RunStore(out, {**OPTIONS, "extra": 1})


def test_refuses_a_foreign_folder(tmp_path: Path):
    (tmp_path / "something.txt").write_text("mine")
    with pytest.raises(InputError, match="non-empty folder without a run manifest"):
        RunStore(tmp_path, OPTIONS)
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(InputError, match="not a directory"):
        RunStore(f, OPTIONS)


def test_done_lines_after_a_torn_append(tmp_path: Path):
    out = tmp_path / "run"
    with RunStore(out, OPTIONS) as store:
        store.append_row({"line": 1, "id": "a"})
        store.append_error({"line": 2, "reason": "bad"})
        store.append_row({"line": 4, "id": "d"})
    with open(out / "rows.jsonl", "ab") as f:
        f.write(b'{"line": 5, "id": "e", "n_to')  # killed mid-write
    with RunStore(out, OPTIONS) as store:
        assert store.done_lines() == {1, 2, 4}
        store.append_row({"line": 5, "id": "e"})
        assert [r["line"] for r in store.rows()] == [1, 4, 5]
        assert [e["line"] for e in store.errors()] == [2]


def test_appends_survive_sigkill(tmp_path: Path):
    """A writer killed with SIGKILL at a random moment leaves only whole lines after repair."""
    p = tmp_path / "rows.jsonl"
    child = textwrap.dedent(f"""
        from reasongraph.core.storage import JsonlAppender
        app = JsonlAppender({str(p)!r})
        i = 0
        while True:
            app.append({{"line": i, "pad": "x" * (i % 5000)}})
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=Path(__file__).parents[1])
    wait_for(lambda: p.exists() and p.stat().st_size >= 200_000, proc, timeout=20)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    repair_jsonl(p)
    lines = [r["line"] for r in read_jsonl(p)]
    assert len(lines) > 10 and lines == list(range(len(lines)))


def test_atomic_write_leaves_target_or_nothing(tmp_path: Path):
    target = tmp_path / "clusterer.npz"
    target.write_bytes(b"old")

    def failing(p: Path) -> None:
        p.write_bytes(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(target, failing)
    assert target.read_bytes() == b"old" and [x.name for x in tmp_path.iterdir()] == ["clusterer.npz"]
    atomic_write(target, lambda p: np.savez(p, a=np.arange(3)), suffix=".npz")
    with np.load(target) as z:
        assert z["a"].tolist() == [0, 1, 2]
    atomic_write_json(tmp_path / "s.json", {"x": 1})
    assert json.loads((tmp_path / "s.json").read_text()) == {"x": 1}


def _trace(text: str = "Step one here.\nStep two here.") -> Trace:
    n = 4
    rng = np.random.default_rng(0)
    return Trace(text=text, prompt="Q?", input_ids=np.arange(6), prompt_len=2, tokens=["Step", " one", "\n", "S"],
                 offsets=np.array([[0, 4], [4, 8], [14, 15], [15, 16]]), entropy=rng.random(n),
                 logprob=-rng.random(n), hidden={3: rng.standard_normal((n, 8)).astype(np.float32)},
                 steps=[Step(0, 2, 0, 14, "Step one here."), Step(3, 4, 15, 29, "Step two here.")],
                 model_name="m", layers=(3,), segment="newline")


def test_trace_cache_keys_and_round_trip(tmp_path: Path):
    opts = {"layers": [3], "segment": "newline", "temperature": 1.0, "prompt_format": "raw", "truncate": False}
    cache = TraceCache(tmp_path / "traces", {"name": "m", "dtype": "float32"}, opts)
    k = cache.key("text", "prompt")
    assert k == cache.key("text", "prompt")
    def other(model="m", **changed):
        return TraceCache(tmp_path / "t2", {"name": model, "dtype": "float32"}, {**opts, **changed}).key("text",
                                                                                                      "prompt")

    others = {cache.key("text", None), cache.key("text ", "prompt"), cache.key("text", "prompt2"), other("m2"),
              other(layers=[2]), other(segment="sentence"), other(temperature=2.0), other(prompt_format="chat"),
              other(truncate=True)}
    assert k not in others and len(others) == 9
    assert cache.get(k) is None and not cache.has(k)
    tr = _trace()
    cache.put(k, tr)
    back = cache.get(k)
    assert back is not None and cache.has(k)
    np.testing.assert_array_equal(back.hidden[3], tr.hidden[3])
    np.testing.assert_array_equal(back.step_vectors(), tr.step_vectors())
    assert back.steps == tr.steps and back.text == tr.text
    cache.path(k).write_bytes(b"truncated junk")  # an unreadable entry is dropped and recomputed
    assert cache.get(k) is None and not cache.has(k)

"""The Ray engine (``engine="ray"``): the local engine's rows, resumable across driver kills and across engines,
a worker killed mid-batch retried; its bad inputs, each one clear error before any work.

Everything runs on one local Ray instance (2 CPUs), mostly with two tiny random models (a model per group, so both
models go through the same actor pool); the default model runs once. CI installs the extra ``reasongraph[ray]``,
so these tests run there; without Ray they skip.
"""
from __future__ import annotations

import json
import logging
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from reasongraph.runs.scoring import fit as scoring_fit  # writes fit.json
from reasongraph.cli.app import main as cli_main
from reasongraph.runs.scoring.score import score_dataset
from reasongraph.core.errors import InputError
from reasongraph.runs.folder.writer import RunStore
from reasongraph.runs.engines.protocol import ConnectOptions
from reasongraph.runs.scoring.state import RunState
from reasongraph.core.storage import read_jsonl

from conftest import TINY_TOKENIZER

ray = pytest.importorskip("ray", reason="the Ray engine needs the extra reasongraph[ray]")
# Ray Data copies its settings through setters that warn about their own deprecated fields
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

WORDS = ("the sum of two numbers is seven so we check again wait maybe compute carefully factor then "
         "divide both sides by three hmm actually let me verify").split()
OPTS = dict(prompt_field="problem", group_field="model", pair_field="pair_key", batch_size=3, k=6, n_shifts=50,
            progress=False)


@pytest.fixture(scope="module")
def cluster():
    """One local Ray instance for the module (starting one takes tens of seconds on 2 cores)."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory, tiny_dir):
    """12 lines: two groups ("base": the tiny model of seed 0, "rl": one of seed 1) of 5 problems, a line that is
    not JSON and a trace longer than the models' context (an extraction error inside a chunk); the local run."""
    import reasongraph as rg

    root = tmp_path_factory.mktemp("ray")
    rl = rg.tiny_random_model(seed=1, device="cpu", dtype="float32", tokenizer=TINY_TOKENIZER)
    rl.model.save_pretrained(root / rl.name)
    rl.tokenizer.save_pretrained(root / rl.name)
    rng = random.Random(0)
    lines = []
    for p in range(5):
        for group in ("base", "rl"):
            text = "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
                             for _ in range(rng.randint(6, 16)))
            lines.append(json.dumps({"id": f"{group}-{p}", "problem": f"Problem {p}: find x.", "model": group,
                                     "pair_key": f"q{p}", "trace": text}))
    lines.insert(4, '{"id": "nj", "trace": "unterminated')
    lines.insert(7, json.dumps({"id": "tl", "problem": "P", "model": "base", "pair_key": "q9",
                                "trace": "word " * 2100}))
    (root / "in.jsonl").write_text("\n".join(lines) + "\n")
    model = {"base": str(tiny_dir), "rl": str(root / rl.name)}
    ref = root / "ref"
    rows = score_dataset(root / "in.jsonl", model=model, out=ref, **OPTS)
    assert len(rows) == 10 and len(list(read_jsonl(ref / "errors.jsonl"))) == 2
    return {"root": root, "input": root / "in.jsonl", "ref": ref, "model": model}


def _same_run(a: Path, b: Path) -> None:
    assert (a / "rows.jsonl").read_bytes() == (b / "rows.jsonl").read_bytes()
    assert (a / "errors.jsonl").read_bytes() == (b / "errors.jsonl").read_bytes()


def _ray(data, out: Path, **kw):
    return score_dataset(data["input"], model=data["model"], out=out, engine="ray", workers=2, **OPTS, **kw)


def _crash_on_call(monkeypatch, owner, name: str, after: int) -> None:
    """``owner.name`` raises KeyboardInterrupt (the driver killed) on its call number ``after + 1``."""
    real, calls = getattr(owner, name), {"n": 0}

    def crash(*args, **kwargs):
        if calls["n"] == after:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, crash)


# ---------------------------------------------------------------------- bad input: one clear error, no work
def test_bad_engine_options_fail_before_any_work(data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "never"
    cases = [
        (dict(engine="ray", workers=0), "workers must be"),
        (dict(engine="spark"), "engine must be"),
        (dict(workers=2), "apply to engine=ray"),
        (dict(engine="ray", ray_address="127.0.0.1:9"), "no Ray cluster answers there"),
    ]
    for kw, message in cases:
        with pytest.raises(InputError, match=message):
            score_dataset(data["input"], model=data["model"], out=out, **{**OPTS, **kw})
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "ray", None)  # as without the extra
        with pytest.raises(InputError, match=r'not installed: pip install "reasongraph\[ray\]"'):
            score_dataset(data["input"], model=data["model"], out=out, engine="ray", **OPTS)
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_:
        cli_main(["score", str(data["input"]), "--out", str(out), "--engine", "ray", "--workers", "0"])
    assert exit_.value.code == 2 and not out.exists()
    assert "--workers: expected a whole number >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_a_loaded_model_is_refused_and_workers_check_the_cache(data, cluster, tiny, tmp_path):
    out = tmp_path / "never"
    with pytest.raises(InputError, match="loads each model on its workers"):
        score_dataset(data["input"], model=tiny, out=out, engine="ray", **OPTS)
    from reasongraph.runs.engines.ray.engine import RayEngine

    engine = RayEngine.connect(ConnectOptions(workers=2))
    cache = tmp_path / "cache"
    cache.mkdir()
    engine.check_cache(cache, cache, name="cache_dir")  # one node: its workers see the folder and write there
    engine.check_cache(cache / "new", cache / "new", name="cache_dir")  # a folder to be: its parent is probed
    assert list(cache.iterdir()) == []  # the probes leave nothing behind


# ---------------------------------------------------------------------- the same rows
@pytest.mark.slow
def test_rows_equal_the_local_engines(data, cluster):
    out = data["root"] / "ray"
    rows = _ray(data, out)
    _same_run(out, data["ref"])
    assert len(rows) == 10
    summary, ref = (json.loads((d / "summary.json").read_text()) for d in (out, data["ref"]))
    assert summary.pop("timing")["engine"] == "ray" and ref.pop("timing")["engine"] == "local"
    assert json.dumps(summary, sort_keys=True) == json.dumps(ref, sort_keys=True)
    assert (out / "rows.parquet").read_bytes() == (data["ref"] / "rows.parquet").read_bytes()


@pytest.mark.slow
def test_resume_after_killing_the_driver_at_three_points(data, cluster, monkeypatch):
    """Killed in pass 1 after the first chunk came back, after the clusterers but before fit.json, and in pass 2
    after 3 rows: each rerun goes on, and the rows are the local engine's, none lost, none twice."""
    out = data["root"] / "ray-killed"
    with monkeypatch.context() as m:
        _crash_on_call(m, RunState, "note_extracted", after=3)
        with pytest.raises(KeyboardInterrupt):
            _ray(data, out)
    assert not (out / "fit.json").exists() and any((out / "traces").rglob("*.npz"))
    with monkeypatch.context() as m:
        real = scoring_fit.atomic_write_json
        m.setattr(scoring_fit, "atomic_write_json", lambda p, o: (_ for _ in ()).throw(KeyboardInterrupt)
                  if Path(p).name == "fit.json" else real(p, o))
        with pytest.raises(KeyboardInterrupt):
            _ray(data, out)
    assert (out / "clusterer-0.npz").exists() and not (out / "fit.json").exists()
    with monkeypatch.context() as m:
        _crash_on_call(m, RunStore, "append_row", after=3)
        with pytest.raises(KeyboardInterrupt):
            _ray(data, out)
    assert len(list(read_jsonl(out / "rows.jsonl"))) == 3
    _ray(data, out)
    _same_run(out, data["ref"])


@pytest.mark.slow
def test_a_run_moves_between_engines(data, cluster, monkeypatch):
    """Begun locally and killed in pass 1, resumed on Ray and killed in pass 2, finished locally."""
    out = data["root"] / "mixed"
    local = dict(model=data["model"], out=out, **OPTS)
    with monkeypatch.context() as m:
        _crash_on_call(m, RunState, "note_extracted", after=4)
        with pytest.raises(KeyboardInterrupt):
            score_dataset(data["input"], **local)
    with monkeypatch.context() as m:
        _crash_on_call(m, RunStore, "append_row", after=4)
        with pytest.raises(KeyboardInterrupt):
            _ray(data, out)
    assert len(list(read_jsonl(out / "rows.jsonl"))) == 4
    score_dataset(data["input"], **local)
    _same_run(out, data["ref"])


# ---------------------------------------------------------------------- a worker dies
def _busy_extractors() -> list[int]:
    """Process ids of extraction actors that are running a chunk now (Ray titles a busy actor's process with the
    method it runs)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "MapBatches(Extractor)" in title and "." in title.split("MapBatches(Extractor)")[-1]:
            pids.append(int(entry.name))
    return pids


@pytest.mark.model
@pytest.mark.slow
def test_default_model_rows_equal_and_a_worker_killed_mid_batch_is_retried(data, cluster, smollm2, tmp_path):
    """The default model, on Ray with one extraction actor killed (SIGKILL) while it extracts a chunk: Ray
    restarts it and retries the chunk, and the rows equal the local engine's."""
    opts = {**OPTS, "group_field": None, "pair_field": None, "batch_size": 2, "limit": 6}  # 5 records, 1 not JSON
    local = score_dataset(data["input"], model=smollm2, out=tmp_path / "local", **opts)
    killed: list[int] = []
    done = threading.Event()

    def kill_one_busy_worker():
        while not done.is_set() and not killed:
            for pid in _busy_extractors():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.01)

    watcher = threading.Thread(target=kill_one_busy_worker, daemon=True)
    watcher.start()
    try:
        rows = score_dataset(data["input"], model="smollm2-135m", out=tmp_path / "ray", engine="ray", workers=2,
                             **opts)
    finally:
        done.set()
        watcher.join()
    assert killed, "no extraction worker was caught busy"
    assert len(rows) == len(local) == 5
    _same_run(tmp_path / "ray", tmp_path / "local")

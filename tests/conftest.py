"""Shared fixtures: the real default model (SmolLM2-135M), a tiny random model, and the shared real traces.

``REASONGRAPH_REQUIRE_SHARED=1`` turns "the shared real traces are absent" from a skip into a failure: CI sets it
when the shared folder is present, so that a test that should read it cannot silently skip.
"""
from __future__ import annotations

import functools
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SHARED_TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"
# The tiny model's own 4096-token byte-level BPE (shipped in the package): it needs no SmolLM2 files.
from reasongraph.models.tiny import TINY_TOKENIZER


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct with its real (de-quantized Q4_1) weights, float32 on CPU."""
    import reasongraph as rg

    return rg.load_model("smollm2-135m", device="cpu", dtype="float32")


@pytest.fixture(autouse=True)
def _default_model_needs_the_model_marker(request, monkeypatch):
    """A test that reaches the default model's files in this process must be marked ``model``: make test-fast
    leaves those out and must run without them (a fresh machine de-quantizes the model for tens of seconds)."""
    if request.node.get_closest_marker("model") is None:
        def refuse():
            pytest.fail(f"{request.node.nodeid} reaches the default model (SmolLM2) but is not marked model",
                        pytrace=False)

        # every module that binds the function (``from ... import default_gguf_path``) is patched, each imported
        # first: one imported during the test would otherwise keep the patched value for good
        original = importlib.import_module("reasongraph.models.smollm2").default_gguf_path
        for name in _gguf_path_users():
            module = importlib.import_module(name)
            if getattr(module, "default_gguf_path", None) is original:
                monkeypatch.setattr(module, "default_gguf_path", refuse)


@functools.cache
def _gguf_path_users() -> tuple[str, ...]:
    """The package's modules that name ``default_gguf_path``."""
    package = Path(__file__).resolve().parents[1] / "reasongraph"
    return tuple(".".join(("reasongraph", *p.relative_to(package).with_suffix("").parts))
                 for p in sorted(package.rglob("*.py")) if "default_gguf_path" in p.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """The tiny random model (seed 0, the shipped test tokenizer) saved as a model folder.

    A command-line run given ``--model`` this folder loads exactly the model of the ``tiny`` fixture (same name,
    config and weights), so its outputs and trace cache entries match those of in-process runs.
    """
    import reasongraph as rg

    lm = rg.tiny_random_model(seed=0, device="cpu", dtype="float32", tokenizer=TINY_TOKENIZER)
    path = tmp_path_factory.mktemp("models") / lm.name
    lm.model.save_pretrained(path)
    lm.tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    """A 2-block random Llama (hidden 64) with a small byte-level BPE tokenizer: fast, meaningless numbers."""
    import reasongraph as rg

    return rg.load_model(tiny_dir, device="cpu", dtype="float32")


def shared_path(name: str) -> Path:
    """``../shared/traces/<name>``; skips the test with a reason when it is absent (fails instead when
    ``REASONGRAPH_REQUIRE_SHARED=1``)."""
    path = SHARED_TRACES / name
    if not path.is_file():
        reason = f"{path} is absent (the shared real traces live beside the checkout, not in the package)"
        if os.environ.get("REASONGRAPH_REQUIRE_SHARED") == "1":
            pytest.fail(f"{reason}; REASONGRAPH_REQUIRE_SHARED=1 says it must be there", pytrace=False)
        pytest.skip(reason)
    return path


def shared_records(name: str, n: int | None = None) -> list[dict]:
    """Records of ``../shared/traces/<name>`` (see :func:`shared_path` for when it is absent)."""
    with open(shared_path(name), encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return records[:n] if n else records


def run_example(script: str, out: Path, *args: str, timeout: float = 900) -> None:
    """Run ``examples/<script> --smoke --out OUT ARGS`` in a fresh process with one thread; fail with its stderr
    unless it exits 0. It needs the rl extra (trl), and skips without it."""
    pytest.importorskip("trl", reason="the rl extra (trl) is not installed")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(root / "examples" / script), "--smoke", "--out", str(out), *args],
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]


def wait_for(cond, proc: subprocess.Popen, timeout: float = 300.0) -> bool:
    """Poll ``cond()`` until it holds (True) or ``proc`` exits or ``timeout`` seconds pass (False): for killing
    a real process at a chosen point of its work."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line at the very end (a wrapper: after the list of skips) when browser tests skipped: how many, and how
    to run them."""
    yield
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "browser" in getattr(r, "keywords", {})]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} browser tests skipped: they need Debian's chromium at /usr/bin/chromium (and playwright); "
            "install it (sudo apt-get install chromium) and run: python -m pytest -m browser tests", yellow=True)

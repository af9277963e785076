"""The registries a newcomer extends without editing reasongraph: model sources, segmenters and metrics.

A toy model source (``toy:N`` -> the tiny random model with seed N, named ``toy-N``), a toy segmenter
(``every_two_lines``) and a toy metric (``tokens_per_step``) are added through the public functions only, a run is
scored with them, and they are removed again. The built-in specs keep the names and errors they had when each
function classified a spec on its own.
"""
from __future__ import annotations

import contextlib
import json
import math
import re
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

import reasongraph as rg
from reasongraph.analysis import catalogue
from reasongraph.analysis.metrics import TraceMetrics, register_metric, unregister_metric
from reasongraph.core.errors import InputError, ModelNotAvailableError
from reasongraph.core.metric import Metric
from reasongraph.models import (ModelSource, check_available, model_name, register_source, resolve,
                                tiny_random_model, unregister_source)
from reasongraph.trace import parse_segmenter, register_segmenter, segment_steps, unregister_segmenter

DOCS = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
TEXT = "First line of work.\nSecond line of work.\nThird line, a check.\nFourth line: so 4.\nFifth and last."


class Toy(ModelSource):
    """``toy:N``: the tiny random model of seed N, named ``toy-N``."""

    @property
    def name(self) -> str:
        return f"toy-{self.seed}"

    @property
    def seed(self) -> int:
        return int(self.spec.removeprefix("toy:"))

    def check(self) -> None:
        if not self.spec.removeprefix("toy:").isdigit():
            raise ModelNotAvailableError(f"model {self.spec!r}: toy:N needs a number N")

    def load(self, *, device=None, dtype=None):
        lm = tiny_random_model(seed=self.seed, device=device, dtype=dtype)
        lm.name = self.name
        return lm


def every_two_lines(text: str) -> list[tuple[int, int]]:
    """Steps of two lines each (the last one alone when their count is odd)."""
    lines = [m.span() for m in re.finditer(r"[^\n]+", text)]
    return [(lines[i][0], lines[min(i + 1, len(lines) - 1)][1]) for i in range(0, len(lines), 2)]


def tokens_per_step(ctx) -> dict:
    """Mean trace tokens per step (NaN without steps)."""
    n_steps = ctx.trace.n_steps
    return {"tokens_per_step": ctx.trace.n_tokens / n_steps if n_steps else math.nan}


STEP_LENGTH = TraceMetrics(
    "step_length", (Metric("tokens_per_step", "tokens per step", "mean trace tokens per step", "shape", "size",
                           definition="n_tokens / n_steps (NaN without steps)."),),
    tokens_per_step, per_layer=("tokens_per_step",))


@contextlib.contextmanager
def toys() -> Iterator[None]:
    register_source("toy", Toy, matches=lambda spec: spec.startswith("toy:"))
    register_segmenter("every_two_lines", every_two_lines)
    register_metric(STEP_LENGTH)
    try:
        yield
    finally:
        unregister_source("toy")
        unregister_segmenter("every_two_lines")
        unregister_metric("step_length")


def test_a_run_scored_with_a_toy_model_source_and_a_toy_segmenter(tmp_path):
    path = tmp_path / "in.jsonl"
    records = [{"id": f"r{i}", "trace": "\n".join(TEXT.split("\n")[: 2 + i % 4])} for i in range(6)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with toys():
        assert model_name("toy:3") == "toy-3" and isinstance(resolve("toy:3"), Toy)
        check_available("toy:3")
        with pytest.raises(InputError, match="toy:N needs a number"):
            check_available("toy:x")
        rows = rg.score_dataset(path, out=tmp_path / "run", model="toy:3", segment="every_two_lines", k=2,
                                layers=[0.5, 1.0], progress=False, device="cpu", dtype="float32")
        entry = catalogue.by_key("tokens_per_step")
        assert entry is not None and entry.panel == "shape" and entry in catalogue.panel("shape")
        assert "- **`tokens_per_step`** (tokens per step): n_tokens / n_steps (NaN without steps)." \
            in catalogue.markdown()
    tokenizer = tiny_random_model(seed=3, device="cpu", dtype="float32").tokenizer
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    for row, rec in zip(rows, records):
        n_lines = rec["trace"].count("\n") + 1
        assert row["scored_by"] == "toy-3"
        assert row["n_steps"] == (n_lines + 1) // 2, (row["n_steps"], n_lines)
        n_tokens = len(tokenizer(rec["trace"])["input_ids"])  # the trace alone: no prompt, raw format
        assert row["n_tokens"] == n_tokens
        assert row["tokens_per_step"] == n_tokens / ((n_lines + 1) // 2)
        keys = list(row)  # the toy family's key follows the built-in ones, its layer column the built-in ones'
        assert keys.index("tokens_per_step") == keys.index("marker_spike_fisher_p_greater") + 1
        sweep = [k for k in keys if k.startswith("n_nodes@")]
        assert len(sweep) == 1 and row["tokens_per_step@" + sweep[0][8:]] == row["tokens_per_step"]
        assert keys.index("tokens_per_step@" + sweep[0][8:]) == keys.index("erank_window@" + sweep[0][8:]) + 1
    assert rows[0]["tokens_per_step"] == 14 / 1  # "First line of work.\nSecond line of work.": 14 tokens, 1 step
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert "every_two_lines" in json.dumps(manifest) and "toy-3" in json.dumps(manifest)
    assert manifest["options"]["metrics"] == ["step_length"]
    # once removed, the names are unknown again: one clear error each
    with pytest.raises(InputError, match="every_two_lines"):
        parse_segmenter("every_two_lines")
    assert model_name("toy:3") == "toy:3"  # a hub id now, as before the toy source existed
    assert catalogue.by_key("tokens_per_step") is None and catalogue.markdown() == DOCS.read_text(encoding="utf-8")


def test_the_toy_segmenter_cuts_exact_spans():
    lm = tiny_random_model(seed=0, device="cpu", dtype="float32")
    enc = lm.tokenizer(TEXT, return_offsets_mapping=True)
    offsets = np.asarray(enc["offset_mapping"])
    with toys():
        steps = segment_steps(TEXT, offsets, "every_two_lines")
    assert [s.text for s in steps] == ["First line of work.\nSecond line of work.",
                                       "Third line, a check.\nFourth line: so 4.", "Fifth and last."]
    assert [s.text for s in segment_steps(TEXT, offsets, every_two_lines)] == [s.text for s in steps]  # a callable
    assert all(TEXT[s.start_char:s.end_char] == s.text for s in steps)


def test_window_n_is_parsed_in_the_registry():
    found = parse_segmenter("window:3")
    assert (found.spec, found.level, found.spans(7)) == ("window:3", "tokens", [(0, 3), (3, 6), (6, 7)])
    for bad in ("window", "window:0", "window:x", "window:\u00b2", "token:2", "newline:3", "bogus", 3):
        with pytest.raises(InputError, match=r"must be one of newline, sentence, paragraph, window:N, token"):
            parse_segmenter(bad)


NAMES = {  # spec -> its model name, as each spec was named before the registry
    "smollm2-135m": "SmolLM2-135M-Instruct", "SmolLM2-135M": "SmolLM2-135M-Instruct",
    None: "SmolLM2-135M-Instruct", "tiny-random": "tiny-random-llama-0", "tiny-random-4": "tiny-random-llama-4",
    "tiny-random-llama-2": "tiny-random-llama-2", "models/x.GGUF": "x", "Qwen/Qwen2.5-Math-7B":
    "Qwen/Qwen2.5-Math-7B", "./no/such/folder": "./no/such/folder",
}


def test_built_in_specs_keep_their_names_and_errors(tmp_path):
    for spec, name in NAMES.items():
        assert model_name(spec) == name, spec
    (tmp_path / "my-model").mkdir()
    assert model_name(str(tmp_path / "my-model")) == "my-model"
    lm = tiny_random_model(seed=1)
    assert model_name(lm) == lm.name and resolve(lm).load() is lm
    errors = {str(tmp_path / "x.gguf"): "GGUF file not found", str(tmp_path / "my-model"): "holds no config.json",
              "./no/such/folder": "no such path", f"tiny-random+{tmp_path}": "holds no adapter_config.json"}
    for spec, says in errors.items():
        with pytest.raises(ModelNotAvailableError, match=says):
            check_available(spec)
    for bad in (3, "", ["a"]):
        with pytest.raises(InputError, match=r"must be a model name or path"):
            model_name(bad)
        with pytest.raises(InputError, match=r"must be a model name or path"):
            rg.load_model(bad)

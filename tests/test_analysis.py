"""analyze / analyze_trace end to end, the saved form, and the `reasongraph analyze` command."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reasongraph as rg
from reasongraph.analysis.one_trace import load_analysis

from conftest import shared_records

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = (ROOT / "examples" / "trace.txt").read_text()
PROMPT = (ROOT / "examples" / "prompt.txt").read_text()
GRAPH_KEYS = ("n_steps n_nodes n_edges loop_exists loop_count max_revisits n_revisits cyclomatic scc_share "
              "cycles_upto_k cycles_truncated diameter diameter_hops avg_clustering c_rand path_length "
              "path_length_hops l_rand small_world small_world_hops").split()


@pytest.fixture(scope="module")
def tiny_trace(tiny):
    return rg.extract(EXAMPLE, PROMPT, model=tiny, layers=(-1, 1))


def test_given_labels_flow_through(tiny_trace):
    n = tiny_trace.n_steps
    labels = np.arange(n) % 4  # 0 1 2 3 0 1 2 3 ...: every step from the fifth on is a revisit
    an = rg.analyze_trace(tiny_trace, labels=labels, n_shifts=200)
    m = an.metrics
    assert all(k in m for k in GRAPH_KEYS)
    assert m["n_steps"] == n and m["n_nodes"] == 4 and m["n_revisits"] == n - 4
    assert [e["step"] for e in an.events["revisits"]] == list(range(4, n))
    assert an.alignment.table.sum() == n
    assert an.alignment.table[0].sum() == m["n_revisits"]
    assert m["align_n_hidden_only"] == len(an.events["hidden_only"]) == an.alignment.table[0, 1]
    for e in an.events["hidden_only"]:
        assert e["text"] == tiny_trace.steps[e["step"]].text
    assert m["n_forking"] == len(an.events["spikes"]) == int(an.forking.sum())
    assert m["forking_share"] == pytest.approx(an.forking.mean())
    assert m["n_markers"] == len(an.markers) >= 4  # Wait x2, Hmm, Actually, Alternatively, let me verify ...
    assert "effective_rank_layer1" in m and m["effective_rank"] == m[f"effective_rank_layer{an.params['layer']}"]
    json.dumps(an.as_dict())  # JSON-able throughout
    assert "hidden-only" in an.summary() and "revisit" in an.summary()


def test_single_trace_clustering_is_deterministic(tiny_trace):
    a = rg.analyze_trace(tiny_trace, n_shifts=100)
    b = rg.analyze_trace(tiny_trace, n_shifts=100)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert _same(a.metrics, b.metrics)
    assert a.metrics["cluster_method"] == "kmeans" and 2 <= a.metrics["cluster_k"] < tiny_trace.n_steps


def test_save_and_load_round_trip(tiny_trace, tmp_path):
    an = rg.analyze_trace(tiny_trace, n_shifts=100)
    back = load_analysis(an.save(tmp_path / "a"))
    np.testing.assert_array_equal(back.labels, an.labels)
    assert _same(back.metrics, an.metrics)
    assert back.events == json.loads(json.dumps(an.events))


@pytest.mark.model
def test_analyze_real_trace_with_default_model(smollm2):
    rec = shared_records("skythought_math500_matched.jsonl", 1)[0]
    an = rg.analyze(rec["trace"], rec["problem"], model=smollm2, n_shifts=200)
    lines = [ln.strip() for ln in an.trace.text.split("\n") if len(ln.strip()) > 5]
    assert an.metrics["n_steps"] == len(lines)
    assert an.trace.layers == (27,) and an.trace.model_name == "SmolLM2-135M-Instruct"
    assert 0 < an.metrics["mean_entropy"] < 5 and 1 < an.metrics["effective_rank"] < 576
    assert an.metrics["n_revisits"] == len(an.graph.revisits())


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reasongraph", *args], capture_output=True, text=True,
                          input=stdin, cwd=ROOT, timeout=600)


@pytest.mark.model
def test_cli_analyze_json_and_save(tmp_path):
    out = _cli("analyze", "-", "--prompt-file", "examples/prompt.txt", "--json", "--save", str(tmp_path / "s"),
               stdin=EXAMPLE)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["metrics"]["n_steps"] == 26 and len(result["labels"]) == 26
    assert (tmp_path / "s" / "trace.npz").is_file()


def test_cli_errors_are_one_line(tmp_path):
    missing = _cli("analyze", str(tmp_path / "nope.txt"))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "nope.txt" in missing.stderr
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe bad bytes")
    bad = _cli("analyze", str(tmp_path / "bad.txt"))
    assert bad.returncode == 2 and "not UTF-8" in bad.stderr and "Traceback" not in bad.stderr
    usage = _cli("analyze")
    assert usage.returncode == 2


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def test_token_and_window_steps_split_characters_cleanly(tiny):
    text = "Wait 😀 ok, let me think.\nHmm 解 x is 3."
    for segment in ("token", "window:2"):
        tr = rg.extract(text, model=tiny, layers=(-1,), segment=segment)
        ends = [(s.start_char, s.end_char) for s in tr.steps]
        assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:]))
        assert "".join(s.text for s in tr.steps) == text
        an = rg.analyze_trace(tr, n_shifts=50)
        assert an.metrics["n_steps"] == tr.n_steps and an.metrics["n_markers"] == 2


def test_custom_markers_survive_save_and_load(tiny_trace, tmp_path):
    an = rg.analyze_trace(tiny_trace, markers=[r"zzz"], n_shifts=50)
    back = load_analysis(an.save(tmp_path / "m"))
    assert an.metrics["n_markers"] == back.metrics["n_markers"] == 0

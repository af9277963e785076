"""Property tests: random walks, random step spans with entropies, and random JSONL records go through the public
API, and nothing but an InputError ever escapes. Valid inputs are also checked against an independent reference
(distinct labels, a brute-force onset entropy, rows + errors = records).

The model path (score_dataset with the tiny random model) runs a few examples only: each is a small scoring run.
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reasongraph.analysis.alignment.align import align
from reasongraph.analysis.alignment.spike_rules import onset_entropy
from reasongraph.core.errors import InputError
from reasongraph.graph.reasoning_graph import ReasoningGraph
from reasongraph.runs.records.reader import RecordReader

# ---------------------------------------------------------------------- strategies
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
INTS = st.one_of(st.integers(-5, 40), st.integers(), st.sampled_from([2**63, -(2**63) - 1, 2**100]))
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, st.text(max_size=8))
RAGGED = st.lists(st.one_of(INTS, st.lists(INTS, max_size=3), st.text(max_size=3)), max_size=6)


def arrays_of(elements: st.SearchStrategy, max_size: int = 30) -> st.SearchStrategy:
    return st.lists(elements, max_size=max_size).map(np.array)


WALKS = st.one_of(st.lists(st.integers(-2, 12), max_size=40), arrays_of(FLOATS), RAGGED, SCALARS,
                  st.lists(st.sampled_from([0, 1, 2**70]), max_size=5))


def _only_input_errors(call, *args, **kwargs):
    """The call's result, or None when it raised InputError; any other exception fails the test."""
    try:
        return call(*args, **kwargs)
    except InputError:
        return None


# ---------------------------------------------------------------------- walks -> graphs and metrics
@settings(max_examples=300, deadline=None)
@given(walk=WALKS, vectors=st.one_of(st.none(), st.integers(0, 3), RAGGED), entropy=st.one_of(st.none(), RAGGED),
       edge_weight=st.sampled_from(["min", "mean", "max", 3]), length_bound=st.one_of(st.integers(-1, 7), FLOATS),
       max_cycles=st.one_of(st.integers(-1, 50), st.none()))
def test_random_walks_give_metrics_or_an_input_error(walk, vectors, entropy, edge_weight, length_bound, max_cycles):
    n = len(walk) if isinstance(walk, (list, np.ndarray)) else 0
    if isinstance(vectors, int):  # a well-shaped matrix of that width, finite or not
        vectors = np.random.default_rng(n).normal(size=(n, vectors)) if vectors else np.full((n, 2), np.nan)
    graph = _only_input_errors(ReasoningGraph.from_walk, walk, vectors=vectors, step_entropy=entropy,
                               edge_weight=edge_weight)
    if graph is None:
        return
    labels = np.asarray(walk, dtype=np.int64)
    assert graph.n_nodes == len(set(labels[labels >= 0].tolist()))
    metrics = _only_input_errors(graph.metrics, length_bound=length_bound,
                                 max_cycles=100 if max_cycles is None else max_cycles)
    if metrics is not None:
        assert metrics["n_steps"] == labels.size
        assert metrics["n_revisits"] == len(graph.revisits())


# ---------------------------------------------------------------------- spans + entropies -> alignment
def _spans(n_tokens: int) -> st.SearchStrategy:
    """Mostly valid consecutive step spans over n tokens, sometimes anything."""
    cuts = st.lists(st.integers(0, n_tokens), max_size=8).map(lambda c: sorted(set(c) | {0, n_tokens}))
    valid = cuts.map(lambda c: np.array(list(zip(c[:-1], c[1:])), dtype=np.int64).reshape(-1, 2))
    return st.one_of(valid, valid, RAGGED, st.lists(st.tuples(INTS, INTS), max_size=5), arrays_of(FLOATS, 6))


@st.composite
def alignment_inputs(draw):
    entropy = draw(st.one_of(arrays_of(st.floats(0, 12), 40), arrays_of(FLOATS, 40), RAGGED, SCALARS))
    n = len(entropy) if isinstance(entropy, (list, np.ndarray)) else 3
    spans = draw(_spans(n))
    n_steps = len(spans) if hasattr(spans, "__len__") else 0
    revisits = draw(st.one_of(st.lists(st.integers(0, max(n_steps - 1, 0)), max_size=4), RAGGED,
                              st.lists(st.booleans(), min_size=n_steps, max_size=n_steps).map(np.array)))
    options = draw(st.fixed_dictionaries({}, optional={
        "rule": st.sampled_from(["onset", "span", "spam", None]),
        "rho": st.one_of(st.floats(0.01, 0.99), FLOATS, st.text(max_size=2)),
        "forking_threshold": st.one_of(st.none(), st.floats(0, 5), FLOATS),
        "onset_tokens": st.one_of(st.integers(1, 4), INTS, FLOATS),
        "lookback": st.one_of(st.integers(0, 4), INTS),
        "n_shifts": st.one_of(st.integers(0, 50), INTS),
        "seed": st.one_of(st.integers(0, 10), INTS, st.text(max_size=2)),
        "min_shift": st.one_of(st.none(), INTS),
    }))
    return entropy, spans, revisits, options


def _onset_reference(h: np.ndarray, spans: np.ndarray, m: int, w: int) -> np.ndarray:
    """science.md's onset entropy, one step at a time: max of the defined H_i over [s - w, min(s + m, e))."""
    out = np.full(len(spans), np.nan)
    for j, (s, e) in enumerate(spans.tolist()):
        window = h[max(s - w, 0):min(s + m, e)]
        window = window[~np.isnan(window)]
        if window.size:
            out[j] = window.max()
    return out


@settings(max_examples=300, deadline=None)
@given(alignment_inputs())
def test_random_spans_and_entropies_align_or_raise_input_error(inputs):
    entropy, spans, revisits, options = inputs
    result = _only_input_errors(align, entropy, spans, revisits, **options)
    onset_options = {k: v for k, v in options.items() if k in ("onset_tokens", "lookback")}
    onset = _only_input_errors(onset_entropy, entropy, spans, **onset_options)
    if onset is not None:
        h = np.asarray(entropy, dtype=np.float64)
        m, w = onset_options.get("onset_tokens", 1), onset_options.get("lookback", 0)
        expected = _onset_reference(h, np.asarray(spans, dtype=np.int64).reshape(-1, 2), m, w)
        np.testing.assert_array_equal(onset, expected)
    if result is not None:
        table = result.table
        assert table.sum() == len(np.asarray(spans).reshape(-1, 2))
        assert result.hidden_only.size == table[0, 1]


# ---------------------------------------------------------------------- JSONL records
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), FLOATS, st.text(max_size=20),
              st.sampled_from(["\ud800", "a\udfffb", "\ufeffbom", "🙂 naïve ∑", "x" * 3000])),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6)
TRACES = st.one_of(
    st.lists(st.text(st.characters(exclude_categories=("Cs",)), min_size=6, max_size=40), min_size=1,
             max_size=6).map("\n".join),
    JSON_VALUES)
RECORDS = st.fixed_dictionaries({}, optional={"id": JSON_VALUES, "trace": TRACES, "problem": JSON_VALUES,
                                              "model": st.one_of(st.sampled_from(["base", "rl"]), JSON_VALUES),
                                              "pair": JSON_VALUES})
RAW_LINES = st.sampled_from([b"not json", b"[1, 2]", b"null", b"\xff\xfe{}", b"{\"trace\": \"cut", b"   ", b"{}",
                             b'{"trace": "ok line one\\nline two here", "id": ' + b"9" * 5000 + b"}",
                             b"[" * 100_000, b'{"trace": "nan and inf", "id": NaN, "model": Infinity}',
                             b'{"trace": "a lone \\ud800 surrogate", "id": "x\\udc80"}'])


@st.composite
def jsonl_files(draw) -> bytes:
    lines = []
    for item in draw(st.lists(st.one_of(RECORDS, RECORDS, RAW_LINES), min_size=1, max_size=8)):
        if isinstance(item, bytes):
            lines.append(item)
        else:
            ascii_only = draw(st.booleans())
            lines.append(json.dumps(item, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))
    return b"\n".join(lines) + b"\n"


def _n_records(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


def _write(data: bytes, folder: str) -> Path:
    path = Path(folder) / "in.jsonl"
    path.write_bytes(data)
    return path


@settings(max_examples=200, deadline=None)
@given(data=jsonl_files(), fields=st.sampled_from([{}, {"prompt_field": "problem", "group_field": "model"},
                                                   {"pair_field": "pair", "model_field": "model"}]))
def test_random_jsonl_records_read_as_records_or_errors(data, fields):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(data, folder)
        reader = _only_input_errors(RecordReader, path, **fields)  # a named field found in no record
        if reader is None:
            return
        records = _only_input_errors(list, reader)
        assert records is not None  # JSONL problems are one record's, never the whole input's
        assert len(records) == _n_records(data) == reader.count()
        for rec in records:
            assert rec.ok == (rec.error is None)
            if rec.ok:
                assert isinstance(rec.text, str) and rec.text.strip()
                for value in (rec.text, rec.prompt, rec.id, rec.group, rec.pair, rec.model):
                    if value is not None:
                        value.encode("utf-8")  # valid Unicode: no lone surrogate gets through
            else:
                assert isinstance(rec.error, str) and "\n" not in rec.error


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=jsonl_files())
def test_random_jsonl_records_through_score_dataset_account_for_every_record(data, tiny):
    from reasongraph.runs.scoring.score import score_dataset
    from reasongraph.runs.folder.reader import ScoredRun

    with tempfile.TemporaryDirectory() as folder:
        path = _write(data, folder)
        rows = _only_input_errors(score_dataset, path, out=Path(folder) / "run", model=tiny, k=3, n_shifts=10,
                                  progress=False)
        if rows is None:
            return
        run = ScoredRun(Path(folder) / "run")
        errors = list(run.errors())
        assert len(rows) + len(errors) == _n_records(data)
        assert sorted(r["line"] for r in rows + errors) == sorted(set(r["line"] for r in rows + errors))
        assert all(math.isfinite(r["n_tokens"]) for r in rows)

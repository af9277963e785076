"""End-to-end dataset scoring with the tiny random model: accounting, resume after crashes and kills, the CLI.

The real default model runs only in the test marked ``model`` (on ../shared/traces).
"""
from __future__ import annotations

import json
import math
import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reasongraph.runs.scoring import fit as scoring_fit  # writes fit.json
from reasongraph.cli.app import main as cli_main
from reasongraph.runs.scoring.score import score_dataset
from reasongraph.core.errors import InputError
from reasongraph.runs.folder.reader import ScoredRun
from reasongraph.runs.folder.writer import RunStore
from reasongraph.stats.reservoir import ReservoirSample
from reasongraph.core.storage import read_jsonl
from reasongraph.analysis.groups.per_group import summarize

from conftest import shared_path, wait_for

REPO = Path(__file__).resolve().parents[1]
WORDS = ("the sum of two numbers is seven so we check again wait maybe compute carefully factor then "
         "divide both sides by three hmm actually let me verify").split()
N_PAIRS = 8
BAD = {  # line -> expected reason (lines N_GOOD+1 ..)
    "not_json": "not valid JSON",
    "missing": "missing text field 'trace'",
    "non_string": "text field 'trace' is not a string (got list)",
    "empty": "empty text in field 'trace'",
    "too_long": "longer than the model's context",
    "bad_utf8": "undecodable bytes: not UTF-8",
}
OPTS = dict(prompt_field="problem", group_field="model", pair_field="pair_key", batch_size=4, k=12, n_shifts=200)
CLI_OPTS = ["--prompt-field", "problem", "--group-by", "model", "--pair-key", "pair_key", "--batch-size", "4",
            "--k", "12", "--n-shifts", "200", "--quiet"]  # plus --model: the tiny model's folder, data["cli"]


def _trace_text(rng: random.Random) -> str:
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))
                     for _ in range(rng.randint(8, 22)))


def write_input(path: Path, context_length: int) -> dict[int, str]:
    """Good records (two models x N_PAIRS problems) with one bad record of each kind among them."""
    rng = random.Random(0)
    lines: list[bytes] = []
    for p in range(N_PAIRS):
        for model in ("base", "rl"):
            rec = {"id": f"{model}-{p}", "problem": f"Problem {p}: find x.", "model": model, "pair_key": f"q{p}",
                   "trace": _trace_text(rng)}
            lines.append(json.dumps(rec).encode())
    bad_lines = [
        ("not_json", b'{"id": "nj", "trace": "unterminated'),
        ("missing", json.dumps({"id": "m1", "problem": "P?", "model": "rl"}).encode()),
        ("non_string", json.dumps({"id": "ns", "trace": ["a", "b"], "model": "rl"}).encode()),
        ("empty", json.dumps({"id": "em", "trace": " \n ", "model": "base"}).encode()),
        ("too_long", json.dumps({"id": "tl", "trace": "word " * (context_length + 10), "model": "base",
                                 "pair_key": "q0"}).encode()),
        ("bad_utf8", b'{"id": "bu", "trace": "caf\xe9 au lait and more words here", "model": "rl"}'),
    ]
    where = {}
    for j, (kind, raw) in enumerate(bad_lines):  # spread them over the file, inside extraction chunks
        at = 3 + 5 * j
        lines.insert(at, raw)
    for lineno, raw in enumerate(lines, start=1):
        for kind, bad in bad_lines:
            if raw == bad:
                where[lineno] = kind
    path.write_bytes(b"\n".join(lines) + b"\n")
    return where


@pytest.fixture(scope="module")
def data(tmp_path_factory, tiny, tiny_dir):
    root = tmp_path_factory.mktemp("score")
    where = write_input(root / "in.jsonl", tiny.context_length)
    out = root / "ref"
    rows = score_dataset(root / "in.jsonl", model=tiny, out=out, progress=False, **OPTS)
    return {"root": root, "input": root / "in.jsonl", "ref": out, "rows": rows, "bad": where,
            "cli": [*CLI_OPTS, "--model", str(tiny_dir)]}


def _same_run(a: Path, b: Path) -> None:
    assert (a / "rows.jsonl").read_bytes() == (b / "rows.jsonl").read_bytes()
    assert (a / "errors.jsonl").read_bytes() == (b / "errors.jsonl").read_bytes()


# ---------------------------------------------------------------------- accounting and outputs
def test_rows_and_errors_account_for_every_record(data):
    ref, rows = data["ref"], data["rows"]
    n_records = 2 * N_PAIRS + len(BAD)
    errors = list(read_jsonl(ref / "errors.jsonl"))
    assert len(rows) + len(errors) == n_records
    assert len(rows) == 2 * N_PAIRS
    assert rows == list(read_jsonl(ref / "rows.jsonl"))
    lines = sorted([r["line"] for r in rows] + [e["line"] for e in errors])
    assert lines == list(range(1, n_records + 1))
    by_line = {e["line"]: e for e in errors}
    assert set(by_line) == set(data["bad"])
    for line, kind in data["bad"].items():
        assert BAD[kind] in by_line[line]["reason"], (kind, by_line[line])
    assert by_line[next(k for k, v in data["bad"].items() if v == "too_long")]["id"] == "tl"
    summary = json.loads((ref / "summary.json").read_text())
    assert (summary["n_records"], summary["n_rows"], summary["n_errors"], summary["complete"]) == (
        n_records, 2 * N_PAIRS, len(BAD), True)


def test_rows_hold_identity_counts_and_metrics(data, tiny):
    from reasongraph.analysis.one_trace import analyze_trace
    from reasongraph.graph.cluster.estimator import load_clusterer
    from reasongraph.trace.extraction.teacher_forced import extract

    ref, rows = data["ref"], data["rows"]
    row = rows[0]
    assert (row["line"], row["id"], row["group"], row["pair"]) == (1, "base-0", "base", "q0")
    for key in ("n_tokens", "n_steps", "loop_exists", "loop_count", "n_revisits", "diameter", "small_world",
                "mean_entropy", "effective_rank", "erv", "era", "align_n_hidden_only", "forking_share_pooled"):
        assert key in row
    # an independent recomputation: extract alone, label with the saved clusterer, analyze
    rec = json.loads(data["input"].read_text(errors="replace").splitlines()[0])
    trace = extract(rec["trace"], rec["problem"], model=tiny)
    clu = load_clusterer(ref / "clusterer.npz")
    an = analyze_trace(trace, clu)
    assert row["n_tokens"] == trace.n_tokens and row["n_steps"] == trace.n_steps
    for key in ("n_nodes", "loop_count", "n_revisits", "align_n_hidden_only", "cluster_k"):
        assert row[key] == an.metrics[key], key
    assert row["mean_entropy"] == pytest.approx(an.metrics["mean_entropy"], rel=1e-5)
    fit = json.loads((ref / "fit.json").read_text())["units"][tiny.name]
    assert fit["k"] == 12 and row["cluster_k"] == 12 and fit["n_fit_steps"] == sum(r["n_steps"] for r in rows)
    assert row["scored_by"] == tiny.name


def test_pooled_forking_threshold_and_share(data):
    from reasongraph.trace.token_signals import top_rho_threshold
    from reasongraph.trace.trace import Trace

    ref = data["ref"]
    fit = json.loads((ref / "fit.json").read_text())
    traces = [Trace.load(p) for p in sorted((ref / "traces").rglob("*.npz"))]
    assert len(traces) == 2 * N_PAIRS
    pooled = np.concatenate([t.entropy[np.isfinite(t.entropy)] for t in traces])
    assert fit["forking_threshold"] == pytest.approx(top_rho_threshold(pooled, rho=0.2))
    by_text = {t.text: t for t in traces}
    src = [json.loads(x) for x in data["input"].read_text(errors="replace").splitlines()[:1]]
    h = by_text[src[0]["trace"]].entropy
    h = h[np.isfinite(h)]
    assert data["rows"][0]["forking_share_pooled"] == pytest.approx(np.mean(h >= fit["forking_threshold"]))


def test_summary_and_parquet_match_rows(data):
    pq = pytest.importorskip("pyarrow.parquet")
    ref, rows = data["ref"], data["rows"]
    summary = json.loads((ref / "summary.json").read_text())
    expect = summarize(rows, group_key="group")
    assert {g: {k: v for k, v in s.items() if k != "alignment"} for g, s in summary["groups"].items()} == \
        json.loads(json.dumps(expect))
    base = [r for r in rows if r["group"] == "base"]
    assert summary["groups"]["base"]["n"] == N_PAIRS
    assert summary["groups"]["base"]["detection_ratio"] == pytest.approx(np.mean([r["loop_exists"] for r in base]))
    assert summary["groups"]["base"]["metrics"]["n_steps"]["mean"] == pytest.approx(
        np.mean([r["n_steps"] for r in base]))
    table = pq.read_table(ref / "rows.parquet").to_pylist()
    assert len(table) == len(rows)
    for got, want in zip(table, rows):
        for key, v in want.items():
            if isinstance(v, float) and math.isnan(v):
                assert got[key] is None or math.isnan(got[key])
            elif isinstance(v, dict):  # nested values are JSON text in Parquet
                assert json.loads(got[key]) == v, key
            else:
                assert got[key] == v, key


# ---------------------------------------------------------------------- reruns, resume, options
def test_complete_run_reruns_as_a_no_op_and_other_options_are_refused(data, tiny):
    before = (data["ref"] / "rows.jsonl").read_bytes()
    rows = score_dataset(data["input"], model=tiny, out=data["ref"], progress=False, **OPTS)
    assert rows == data["rows"] and (data["ref"] / "rows.jsonl").read_bytes() == before
    with pytest.raises(InputError, match=r"different options \(k: run has 12, now 13\)"):
        score_dataset(data["input"], model=tiny, out=data["ref"], progress=False, **{**OPTS, "k": 13})


def _cache_paths(data, tiny, directory: Path, first_line: int = 1) -> list[Path]:
    """Cache entries (in ``directory``) of the valid records at or after ``first_line``, in file order."""
    from reasongraph.trace.extraction.layers import resolve_layers
    from reasongraph.trace.cache import TraceCache

    options = json.loads((data["ref"] / "manifest.json").read_text())["options"]
    cache = TraceCache(directory, tiny.identity(),
                       {"layers": list(resolve_layers(options["layers"], tiny.num_layers)),
                        **{k: options[k] for k in ("segment", "temperature", "prompt_format", "truncate",
                                                   "keep_hidden")}})
    out = []
    for lineno, raw in enumerate(data["input"].read_bytes().splitlines(), start=1):
        if lineno >= first_line and lineno not in data["bad"]:
            rec = json.loads(raw)
            out.append(cache.path(cache.key(rec["trace"], rec["problem"])))
    return out


def test_resume_after_crashes_at_three_points(data, tiny, monkeypatch):
    """One run crashed three times, resumed each time, ends with the rows of an uninterrupted run:
    1. killed while a chunk's traces were being cached (two of its four entries missing): the chunk is extracted
       again with the same records, so the padded batch and the hidden states are bit for bit the same;
    2. killed after clusterer.npz was written but before fit.json: pass 1 and the fit are redone, identically;
    3. killed in pass 2 after 3 rows, in the middle of writing the 4th (a torn line)."""
    out, cache = data["root"] / "crashes", data["root"] / "crashes-cache"
    shutil.copytree(data["ref"] / "traces", cache)
    chunk3 = _cache_paths(data, tiny, cache)[8:12]  # the third chunk of four valid records
    for p in chunk3[1:3]:
        p.unlink()
    run = dict(model=tiny, out=out, cache_dir=cache, progress=False, **OPTS)

    real_json = scoring_fit.atomic_write_json

    def crash_at_fit_json(path, obj):
        if Path(path).name == "fit.json":
            raise KeyboardInterrupt
        return real_json(path, obj)

    monkeypatch.setattr(scoring_fit, "atomic_write_json", crash_at_fit_json)
    with pytest.raises(KeyboardInterrupt):
        score_dataset(data["input"], **run)
    monkeypatch.setattr(scoring_fit, "atomic_write_json", real_json)
    assert all(p.exists() for p in chunk3)
    assert (out / "clusterer.npz").exists() and not (out / "fit.json").exists()

    real_append = RunStore.append_row
    calls = {"n": 0}

    def crash_at_fourth_row(self, row):
        if calls["n"] == 3:
            with open(self.rows_path, "ab") as f:
                f.write(json.dumps(row).encode()[:40])  # torn: no newline
            raise KeyboardInterrupt
        calls["n"] += 1
        real_append(self, row)

    monkeypatch.setattr(RunStore, "append_row", crash_at_fourth_row)
    with pytest.raises(KeyboardInterrupt):
        score_dataset(data["input"], **run)
    monkeypatch.setattr(RunStore, "append_row", real_append)
    assert (out / "fit.json").exists() and len(list(read_jsonl(out / "rows.jsonl"))) == 3

    score_dataset(data["input"], **run)
    _same_run(out, data["ref"])


def test_reuse_a_saved_clusterer_and_a_shared_cache(data, tiny):
    out = data["root"] / "reuse"
    rows = score_dataset(data["input"], model=tiny, out=out, clusterer=data["ref"] / "clusterer.npz",
                         cache_dir=data["ref"] / "traces", limit=8, progress=False, **OPTS)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["timing"]["n_extracted"] == 0  # every trace came from the shared cache
    assert summary["fit"]["units"][tiny.name]["source"] == str(data["ref"] / "clusterer.npz")
    ref = {r["line"]: r for r in data["rows"]}
    assert len(rows) == 8 - sum(1 for line in data["bad"] if line <= 8)
    pooled = ("forking_share_pooled", "forking_share_by_group")  # pooled over fewer records here
    for row in rows:  # same traces, same clusterer: same rows
        assert {k: v for k, v in row.items() if k not in pooled} == \
            {k: v for k, v in ref[row["line"]].items() if k not in pooled}


def test_fit_sample_bounds_the_fit(data, tiny):
    out = data["root"] / "sample"
    rows = score_dataset(data["input"], model=tiny, out=out, cache_dir=data["ref"] / "traces", fit_sample=20,
                         limit=8, progress=False, **OPTS)
    fit = json.loads((out / "fit.json").read_text())["units"][tiny.name]
    assert fit["n_fit_steps"] == 20 and fit["n_steps"] == sum(r["n_steps"] for r in rows) > 20


def test_stream_sample_is_seeded_uniform_and_order_preserving():
    X = np.arange(1000, dtype=np.float64).reshape(-1, 1)
    whole = ReservoirSample(100, seed=3)
    whole.add(X)
    parts = ReservoirSample(100, seed=3)
    for start in range(0, 1000, 37):  # compaction happens at other moments: same sample
        parts.add(X[start:start + 37])
    a, b = whole.values(), parts.values()
    assert a.shape == (100, 1) and np.array_equal(a, b)
    assert np.all(np.diff(a[:, 0]) > 0) and len(np.unique(a)) == 100  # stream order, no repeats
    assert not np.array_equal(a, (s := ReservoirSample(100, seed=4), s.add(X), s.values())[2])
    everything = ReservoirSample(None, seed=0)
    everything.add(X[:10])
    everything.add(X[10:])
    assert np.array_equal(everything.values(), X)
    hits = np.zeros(1000)  # inclusion frequency of every row is cap / n = 0.1
    for seed in range(200):
        s = ReservoirSample(100, seed=seed)
        s.add(X)
        hits[s.values()[:, 0].astype(int)] += 1
    assert abs(hits.mean() / 200 - 0.1) < 1e-12 and hits.std() / 200 < 0.03


def test_bad_options_fail_before_any_work(data, tmp_path):
    with pytest.raises(InputError, match="input not found"):
        score_dataset(tmp_path / "missing.jsonl", model="never-loaded", out=tmp_path / "o")
    with pytest.raises(InputError, match="unknown field name: group_field 'modle'"):
        score_dataset(data["input"], model="never-loaded", group_field="modle", out=tmp_path / "o")
    with pytest.raises(InputError, match="no such clusterer file"):
        score_dataset(data["input"], model="never-loaded", clusterer=tmp_path / "nope.npz", out=tmp_path / "o")
    with pytest.raises(InputError, match="method must be"):
        score_dataset(data["input"], model="never-loaded", method="dbscan", out=tmp_path / "o")
    with pytest.raises(InputError, match="on_error"):
        score_dataset(data["input"], model="never-loaded", on_error="ignore", out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------- the CLI, in process
def test_cli_on_error_fail_exits_2_at_the_first_bad_record(data, tmp_path, capsys):
    out = tmp_path / "fail"
    code = cli_main(["score", str(data["input"]), "--out", str(out), "--on-error", "fail", *data["cli"]])
    err = capsys.readouterr().err
    first_bad = min(data["bad"])
    assert code == 2
    assert f"line {first_bad}" in err and "use --on-error skip" in err and err.count("\n") == 1
    errors = list(read_jsonl(out / "errors.jsonl"))
    assert [e["line"] for e in errors] == [first_bad]


def _report_data(path: Path) -> dict:
    """The view payload inside a report page file."""
    return _report_data_of(path.read_text(encoding="utf-8"))


def _report_data_of(html: str) -> dict:
    assert html.lstrip().lower().startswith("<!doctype html")
    return json.loads(re.search(r'type="application/json" id="[\w-]+-data">(.*?)</script>', html, re.S).group(1))


def test_cli_score_json_table_and_html_report(data, tmp_path, capsys):
    out, report = tmp_path / "cli", tmp_path / "report.html"
    args = ["score", str(data["input"]), "--out", str(out), "--cache-dir", str(data["ref"] / "traces"),
            "--limit", "10", *data["cli"]]
    assert cli_main(args + ["--json", "--html", str(report), "--embed", "2"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    n_bad = sum(1 for line in data["bad"] if line <= 10)
    assert (summary["n_records"], summary["n_rows"], summary["n_errors"]) == (10, 10 - n_bad, n_bad)
    first_bad = min(data["bad"])
    assert f"skipped line {first_bad}" in captured.err
    assert cli_main(args) == 0  # the complete run again: nothing to do, the table printed
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith(f"scored {10 - n_bad} of 10 records into {out} (proxy: all groups scored by ")
    assert table[0].endswith(f"; {n_bad} could not be scored (see {out}/errors.jsonl)")
    assert table[1].startswith(f"K = 12 for {data['cli'][-1].rsplit('/', 1)[-1]} (given; ")
    head = next(i for i, line in enumerate(table) if line.startswith("group"))
    assert table[head].split()[:3] == ["group", "n", "detection"]
    assert {line.split()[0] for line in table[head + 1:head + 3]} == {"base", "rl"}
    top = _report_data(report)
    embedded = [r["embed"] for r in top["top"]["rows"] if r["embed"]]
    assert len(embedded) == 2 and sorted(top["embeds"]) == sorted(embedded)
    assert embedded == [r["embed"] for r in top["top"]["rows"][:2]]  # the two most cyclic


def test_run_analyses_rebuild_the_rows_metrics(data, tmp_path):
    """A run's cached traces and clusterer give back the analyses behind its rows, without the model."""
    rows = data["rows"][3:6]
    run = ScoredRun(data["ref"])
    analyses = run.analyses(rows + [{"line": 999, "trace_key": "0" * 32}, {"line": 1000}])
    assert sorted(analyses) == sorted(r["line"] for r in rows)
    for row in rows:
        for name in ("loop_count", "n_revisits", "n_steps", "mean_entropy", "effective_rank", "align_n_hidden_only"):
            assert analyses[row["line"]].metrics[name] == pytest.approx(row[name], nan_ok=True), name
    assert run.analyses(rows, cache_dir=tmp_path) == {}  # an empty cache: nothing to embed
    moved = shutil.copytree(data["ref"], tmp_path / "moved")  # a run folder moved with its cache still reads it
    assert sorted(ScoredRun(moved).analyses(rows)) == sorted(analyses)
    with pytest.raises(InputError, match="holds no scored run"):
        ScoredRun(tmp_path)  # not a run folder


def test_report_embeds_by_line_when_ids_repeat(data, tmp_path):
    """Two rows with one id (the same problem under two models) each embed their own trace."""
    from reasongraph.html.report_view import most_cyclic_rows
    from reasongraph.runs.folder.report import run_report_html

    run = shutil.copytree(data["ref"], tmp_path / "run")
    rows = list(read_jsonl(run / "rows.jsonl"))
    for r in rows:
        r["id"] = "same"
    (run / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = _report_data_of(run_report_html(run, top=3, embed=2))
    keys = [r["embed"] for r in got["top"]["rows"]]
    assert keys[:2] == [f"line:{r['line']}" for r in most_cyclic_rows(rows, top=2)] and keys[2] is None
    assert len(set(keys[:2])) == 2 and set(got["embeds"]) == set(keys[:2])
    (run / "rows.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if k != "trace_key"}) + "\n"
                                            for r in rows))  # rows of a run from before trace keys
    with pytest.warns(UserWarning, match="embedded 0 of the 2 most cyclic traces"):
        assert _report_data_of(run_report_html(run, top=3, embed=2))["embeds"] == {}


def test_cli_html_embeds_from_a_run_folder(data, tmp_path, capsys):
    report = tmp_path / "r.html"
    assert cli_main(["html", str(data["ref"]), "-o", str(report), "--embed", "1", "--top", "4"]) == 0
    got = _report_data(report)
    assert len(got["top"]["rows"]) == 4 and len(got["embeds"]) == 1 and got["top"]["rows"][0]["embed"]
    assert cli_main(["html", str(data["ref"]), "-o", str(report), "--embed", "0"]) == 0
    assert _report_data(report)["embeds"] == {}
    with pytest.raises(SystemExit):
        cli_main(["html", str(data["ref"]), "--embed", "-1"])
    assert "expected a whole number >= 0, got '-1'" in capsys.readouterr().err


def test_cli_missing_input_and_unknown_field_exit_2(data, tmp_path, capsys):
    assert cli_main(["score", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "input not found" in capsys.readouterr().err
    assert cli_main(["score", str(data["input"]), "--out", str(tmp_path / "o"), "--text-field", "text"]) == 2
    assert "unknown field name: --text-field 'text'" in capsys.readouterr().err


def test_cli_compare_table_json_and_html(data, tmp_path, capsys):
    ref = str(data["ref"])
    assert cli_main(["compare", ref, "--group-by", "model", "--a", "base", "--b", "rl", "--pair-key", "pair_key",
                     "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["n_pairs"] == N_PAIRS and got["a"] == "base" and got["pair_field"] == "pair"
    rows = data["rows"]
    base = {r["pair"]: r["n_steps"] for r in rows if r["group"] == "base"}
    rl = {r["pair"]: r["n_steps"] for r in rows if r["group"] == "rl"}
    assert got["metrics"]["n_steps"]["diff"] == pytest.approx(np.mean([rl[k] - base[k] for k in base]))
    assert cli_main(["compare", ref, "--a", "base", "--b", "rl"]) == 0  # defaults: the run's fields
    table = capsys.readouterr().out
    assert f"rl (B) vs base (A): {N_PAIRS} pairs matched on field 'pair_key', groups from field 'model'" in table
    assert "align_n_hidden_only" in table and "forking_share_pooled" in table
    with pytest.raises(SystemExit):
        cli_main(["compare", ref, "--a", "base"])
    assert "the following arguments are required: --b" in capsys.readouterr().err
    report = tmp_path / "report.html"
    assert cli_main(["compare", ref, "--a", "base", "--b", "rl", "--html", str(report)]) == 0
    text = report.read_text()
    assert text.lstrip().lower().startswith("<!doctype html") and "base" in text and "rl" in text


# ---------------------------------------------------------------------- kill -9 at two points, real processes
@pytest.mark.slow  # two fresh processes import torch and transformers: ~20-40 s on 2 cores
def test_resume_after_sigkill_in_pass_1_and_in_pass_2(data, tiny):
    out, cache = data["root"] / "killed", data["root"] / "killed-cache"
    shutil.copytree(data["ref"] / "traces", cache)  # pass 1 has only the last chunks to extract
    for p in _cache_paths(data, tiny, cache)[8:]:
        p.unlink()
    n_seeded = len(list(cache.rglob("*.npz")))
    cmd = [sys.executable, "-m", "reasongraph", "score", str(data["input"]), "--out", str(out), "--cache-dir",
           str(cache), *data["cli"]]
    n_cached = lambda: len(list(cache.rglob("*.npz")))  # noqa: E731
    n_rows = lambda: len(list(read_jsonl(out / "rows.jsonl")))  # noqa: E731

    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: n_cached() > n_seeded, proc), "pass 1 never cached a trace"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "fit.json").exists(), "the kill was meant to land in pass 1"

    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: (out / "rows.jsonl").exists() and n_rows() >= 3, proc), "pass 2 never wrote 3 rows"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert n_rows() < 2 * N_PAIRS, "the kill was meant to land in pass 2"

    score_dataset(data["input"], model=tiny, out=out, cache_dir=cache, progress=False, **OPTS)
    assert (out / "rows.jsonl").read_bytes() == (data["ref"] / "rows.jsonl").read_bytes()
    # errors.jsonl speaks the words of whoever wrote each line: the killed CLI runs wrote the too-long record's
    cli_words = (out / "errors.jsonl").read_text(encoding="utf-8")
    assert "set --truncate" in cli_words
    assert cli_words.replace("set --truncate", "set truncate=True") == \
        (data["ref"] / "errors.jsonl").read_text(encoding="utf-8")


# ---------------------------------------------------------------------- the real default model
@pytest.mark.model
def test_cli_on_thought_anchors_with_the_default_model(smollm2, tmp_path, capsys):
    """`reasongraph score` on real R1-style traces with SmolLM2-135M (slow on CPU: --limit 2). Both records fit
    SmolLM2's 8192-token context (about 4.4k tokens each), so both must give rows; the first row's numbers are
    recomputed: its tokens and steps from the tokenizer and the text, its metrics by extracting and analyzing
    the record alone with the run's clusterer."""
    from reasongraph.analysis.one_trace import analyze_trace
    from reasongraph.graph.cluster.estimator import load_clusterer
    from reasongraph.trace.extraction.teacher_forced import extract

    path = shared_path("thought_anchors_math_r1distill.jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:2]]
    out = tmp_path / "ta"
    code = cli_main(["score", str(path), "--out", str(out), "--prompt-field", "problem", "--group-by", "model",
                     "--limit", "2", "--k", "50", "--quiet", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n_records"], summary["n_rows"], summary["n_errors"], summary["complete"]) == (2, 2, 0, True)
    assert list(read_jsonl(out / "errors.jsonl")) == []
    rows = list(read_jsonl(out / "rows.jsonl"))
    assert [(r["line"], r["id"], r["group"]) for r in rows] == [
        (1, records[0]["id"], "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"),
        (2, records[1]["id"], "deepseek-ai/DeepSeek-R1-Distill-Llama-8B")]
    for row, rec in zip(rows, records):
        assert row["n_tokens"] == len(smollm2.tokenizer(rec["trace"], add_special_tokens=False)["input_ids"])
        assert row["n_steps"] == sum(1 for ln in rec["trace"].split("\n") if len(ln.strip()) > 5)
        assert 0 < row["mean_entropy"] < 5 and row["effective_rank"] > 1
        assert 0 < row["forking_share_pooled"] < 1
    trace = extract(records[0]["trace"], records[0]["problem"], model=smollm2)
    an = analyze_trace(trace, load_clusterer(out / "clusterer.npz"))
    for key in ("n_steps", "n_nodes", "loop_count", "n_revisits", "cluster_k"):
        assert rows[0][key] == an.metrics[key], key
    assert rows[0]["mean_entropy"] == pytest.approx(an.metrics["mean_entropy"], rel=1e-5)
    assert rows[0]["effective_rank"] == pytest.approx(an.metrics["effective_rank"], rel=1e-4)

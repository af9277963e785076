"""Bad input, kind by kind: each case is refused with one clear line and exit code 2, loses nothing, and leaves no
partial files; from Python it is one InputError naming the parameter.

The kinds follow the reliability issue: (1) invalid option values, (2) nonsense that used to be accepted, (3)
corrupt or foreign files, (4) output paths that cannot be written, (5) huge input, (6) two writers on one run
folder, (7) messages in the caller's words. Command-line cases run ``reasongraph.cli.app.main`` in this process with
the tiny random model; the two-writer cases run ``python -m reasongraph`` in subprocesses.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import reasongraph as rg
from reasongraph.cli.app import main as cli_main
from reasongraph.graph.cluster.estimator import StepClusterer, load_clusterer
from reasongraph.analysis.groups.comparison import compare_groups
from reasongraph.runs.scoring.score import score_dataset
from reasongraph.core.errors import InputError
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.folder.report import run_report_html
from reasongraph.trace.trace import Trace

from conftest import wait_for

REPO = Path(__file__).resolve().parents[1]
TINY = ["--model", "tiny-random"]
WORDS = ("the sum of two numbers is seven so we check again wait maybe compute carefully factor then divide both "
         "sides by three hmm actually let me verify").split()
SCORE_OPTS = ["--k", "3", "--n-shifts", "10", "--quiet"]


def _trace_text(rng: random.Random, n_lines: int = 8) -> str:
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 10))) for _ in range(n_lines))


def _records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [{"id": f"r{i}", "trace": _trace_text(rng), "model": ("base", "rl")[i % 2], "pair": f"p{i // 2}"}
            for i in range(n)]


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- running the command line
def run_cli(capsys, argv: list) -> tuple[int, list[str], str]:
    """(exit code, stderr lines, stdout) of ``reasongraph ARGV``; usage errors exit through SystemExit."""
    try:
        code = cli_main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.err.splitlines(), captured.out


def refused(capsys, argv: list, *expected: str) -> str:
    """Run a command that must fail on bad input: exit 2, exactly one stderr line "reasongraph CMD: error: ...",
    no traceback, and each of ``expected`` in that line. Returns the line."""
    code, err, _ = run_cli(capsys, argv)
    assert code == 2, err
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith(f"reasongraph {argv[0]}: error: "), line
    assert "Traceback" not in line and "internal error" not in line
    for text in expected:
        assert text in line, line
    return line


def python_refuses(call, name: str, *args, **kwargs) -> str:
    """A Python call that must raise one InputError naming the parameter ``name`` in Python's words (no flag)."""
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert re.search(rf"(?<![\w-]){re.escape(name)}\b", message), message
    assert "--" not in message, message
    return message


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------- shared inputs
@pytest.fixture(scope="module")
def work(tmp_path_factory, tiny):
    """A trace, a small dataset, a finished run of it, its clusterer and a cached Trace, and a clusterer of
    another width (32, where the tiny model's hidden states are 64 wide)."""
    root = tmp_path_factory.mktemp("bad")
    trace = root / "trace.txt"
    trace.write_text(_trace_text(random.Random(1), 10), encoding="utf-8")
    data = _write_jsonl(root / "in.jsonl", _records(6))
    run = root / "run"
    score_dataset(data, out=run, model=tiny, group_field="model", pair_field="pair", k=3, n_shifts=10,
                  progress=False)
    narrow = StepClusterer(k=2).fit(np.random.default_rng(0).normal(size=(20, 32))).save(root / "narrow.npz")
    return {"root": root, "trace": trace, "data": data, "run": run, "clusterer": run / "clusterer.npz",
            "cached": next(run.joinpath("traces").rglob("*.npz")), "narrow": narrow}


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder no one can create files in: mode 0555, or (for root, whom modes do not stop) immutable."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if os.access(folder, os.W_OK):  # root
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        if not immutable:
            pytest.skip("running as root where chattr +i is not available: no folder is read-only here")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


# ====================================================================== 1. invalid option values: exit 2
ANALYZE_OPTIONS = [
    (["--segment", "bogus"], "--segment"), (["--segment", "window:0"], "--segment"),
    (["--layer", "1.5"], "--layer"), (["--layer", "999"], "--layer"), (["--layer", "-9"], "--layer"),
    (["--temperature", "0"], "--temperature"), (["--temperature", "nan"], "--temperature"),
    (["--lookback", "-3"], "--lookback"), (["--n-shifts", "-5"], "--n-shifts"), (["--rho", "1"], "--rho"),
    (["--onset-tokens", "0"], "--onset-tokens"), (["--seed", str(2**40)], "--seed"),
    (["--device", "tpu9"], "--device"), (["--dtype", "float33"], "--dtype"),
]


@pytest.mark.parametrize("options, flag", ANALYZE_OPTIONS, ids=[" ".join(o) for o, _ in ANALYZE_OPTIONS])
def test_analyze_refuses_an_invalid_option_value(capsys, work, options, flag):
    refused(capsys, ["analyze", work["trace"], *TINY, *options], flag)


SCORE_OPTIONS = [
    (["--layer", "999"], "--layer"), (["--segment", "window:0"], "--segment"), (["--temperature", "inf"],
                                                                                "--temperature"),
    (["--rho", "0"], "--rho"), (["--onset-tokens", "0"], "--onset-tokens"), (["--n-shifts", "-5"], "--n-shifts"),
    (["--forking-threshold", "nan"], "--forking-threshold"), (["--seed", "-1"], "--seed"),
    (["--dtype", "float33"], "--dtype"), (["--device", "tpu9"], "--device"), (["--batch-size", "0"], "--batch-size"),
]


@pytest.mark.parametrize("options, flag", SCORE_OPTIONS, ids=[" ".join(o) for o, _ in SCORE_OPTIONS])
def test_score_refuses_an_invalid_option_value_before_writing_anything(capsys, work, tmp_path, options, flag):
    out = tmp_path / "run"
    refused(capsys, ["score", work["data"], "--out", out, *TINY, *SCORE_OPTS, *options], flag)
    assert not out.exists()  # no manifest, no rows: the run folder was never created


@pytest.mark.parametrize("command, options, flag", [
    ("compare", ["--n-boot", "0"], "--n-boot"), ("compare", ["--seed", "-1"], "--seed"),
    ("html", ["--top", "-1"], "--top"), ("html", ["--embed", "-1"], "--embed"),
])
def test_compare_and_html_refuse_an_invalid_option_value(capsys, work, tmp_path, command, options, flag):
    page = tmp_path / "page.html"
    argv = (["compare", work["run"], "--a", "base", "--b", "rl", "--html", page] if command == "compare" else
            ["html", work["run"], "-o", page])
    refused(capsys, argv + options, flag)
    assert not page.exists()


@pytest.mark.parametrize("call, name, kwargs", [
    ("analyze", "segment", {"segment": "window:0"}), ("analyze", "layers", {"layers": [999]}),
    ("analyze", "temperature", {"temperature": 0.0}), ("analyze", "lookback", {"lookback": -3}),
    ("analyze", "seed", {"seed": 2**40}), ("analyze", "markers", {"markers": ["(unclosed"]}),
    ("analyze_trace", "n_shifts", {"n_shifts": -5}), ("analyze_trace", "rho", {"rho": float("nan")}),
    ("analyze_trace", "layer", {"layer": 7}), ("analyze_trace", "labels", {"labels": [0, 1]}),
    ("score_dataset", "dtype", {"dtype": "float33"}), ("score_dataset", "device", {"device": "tpu9"}),
    ("score_dataset", "temperature", {"temperature": float("nan")}), ("score_dataset", "out", {"out": None}),
    ("compare_groups", "n_boot", {"n_boot": 0}), ("compare_groups", "seed", {"seed": -1}),
    ("compare_groups", "ci", {"ci": 1.5}),
    ("report", "embed", {"embed": -1}), ("report", "top", {"top": "3"}),
    ("html", "path", {"path": "FOLDER"}), ("html", "analysis", {"analysis": None}),
    ("score_dataset", "model", {"model": ["tiny-random"]}), ("score_dataset", "path", {"path": 123}),
    ("score_dataset", "clusterer", {"clusterer": 5}), ("score_dataset", "seed", {"seed": 1.0}),
    ("Trace.load", "path", {"path": 5}), ("load_clusterer", "path", {"path": None}),
    ("ScoredRun", "path", {"path": None}),
])
def test_python_entry_points_refuse_an_invalid_parameter_by_its_name(work, tiny, tmp_path, call, name, kwargs):
    text = work["trace"].read_text()
    if call == "analyze":
        python_refuses(rg.analyze, name, text, model=tiny, **kwargs)
    elif call == "analyze_trace":
        python_refuses(rg.analyze_trace, name, Trace.load(work["cached"]), **kwargs)
    elif call == "score_dataset":
        out, data = kwargs.pop("out", tmp_path / "run"), kwargs.pop("path", work["data"])
        python_refuses(score_dataset, name, data, out=out, **kwargs)
        assert not (tmp_path / "run").exists()
    elif call in ("Trace.load", "load_clusterer", "ScoredRun"):
        python_refuses({"Trace.load": Trace.load, "load_clusterer": load_clusterer, "ScoredRun": rg.ScoredRun}[call],
                       name, kwargs["path"])
    elif call == "compare_groups":
        rows = list(rg.ScoredRun(work["run"]).rows())
        python_refuses(compare_groups, name, rows, "base", "rl", **kwargs)
    elif call == "report":
        python_refuses(run_report_html, name, work["run"], **kwargs)
    else:
        from reasongraph.html.write import write_trace_html

        analysis = rg.analyze_trace(Trace.load(work["cached"]), n_shifts=10)
        path = tmp_path if kwargs.get("path") == "FOLDER" else tmp_path / "x.html"
        python_refuses(write_trace_html, name, kwargs.get("analysis", analysis), path)


def test_a_run_in_which_every_record_failed_exits_2_with_the_first_reason(capsys, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": "a", "text": "the trace is in the wrong field"}\n{"id": "b", "trace": " "}\n'
                    '{"id": "c", "trace": 5}\n', encoding="utf-8")
    out = tmp_path / "run"
    code, err, _ = run_cli(capsys, ["score", data, "--out", out, *TINY, *SCORE_OPTS])
    assert code == 2
    assert [line for line in err if ": error: " in line] == [err[-1]] and "Traceback" not in "\n".join(err)
    assert err[-1].startswith("reasongraph score: error: no record could be scored (3 errors")
    assert err[-1].endswith("the first, line 1: missing text field 'trace'")
    assert [e["line"] for e in rg.ScoredRun(out).errors()] == [1, 2, 3]  # nothing lost: each reason is kept


# ====================================================================== 2. nonsense that used to be accepted
def test_k_0_is_refused(capsys, work, tmp_path, tiny):
    refused(capsys, ["analyze", work["trace"], *TINY, "--k", "0"], "--k")
    refused(capsys, ["score", work["data"], "--out", tmp_path / "run", *TINY, "--quiet", "--k", "0"], "--k")
    assert not (tmp_path / "run").exists()
    python_refuses(rg.analyze, "k", work["trace"].read_text(), model=tiny, k=0)


def test_compare_refuses_an_unknown_metric_and_a_group_compared_with_itself(capsys, work):
    compare = ["compare", work["run"], "--a", "base"]
    refused(capsys, [*compare, "--b", "rl", "--metric", "unknown"], "--metric", "'unknown'")
    refused(capsys, [*compare, "--b", "rl", "--metric", "loop_count", "--metric", "nope"], "'nope'")
    refused(capsys, [*compare, "--b", "base"], "--a and --b name the same group")
    rows = list(rg.ScoredRun(work["run"]).rows())
    python_refuses(compare_groups, "metrics", rows, "base", "rl", metrics="loop_count")


def test_a_clusterer_of_another_hidden_size_is_refused_before_any_extraction(capsys, work, tmp_path, tiny):
    line = refused(capsys, ["analyze", work["trace"], *TINY, "--clusterer", work["narrow"]], "--clusterer")
    assert "width 32" in line and "width 64" in line
    out = tmp_path / "run"
    line = refused(capsys, ["score", work["data"], "--out", out, *TINY, "--quiet", "--clusterer", work["narrow"]],
                   "--clusterer")
    assert "width 32" in line and "width 64" in line and not out.exists()
    message = python_refuses(rg.analyze, "clusterer", work["trace"].read_text(), model=tiny,
                             clusterer=load_clusterer(work["narrow"]))
    assert "width 32" in message and "width 64" in message
    python_refuses(rg.analyze_trace, "clusterer", Trace.load(work["cached"]), clusterer=work["narrow"])


UNCLOSED_CSV = {  # content -> the line where the runaway quoted field opens
    "runs to the end of the file": ('id,trace\n1,"first trace\n2,second trace\n3,third trace\n', 2),
    "closed by a later record's quote": ('id,trace\n1,fine\n2,"runaway\n3,"quoted, trace"\n4,"x"\n', 3),
    "closed before a line break": ('id,trace,model\n1,"runaway,base\n2,"\nlater line",rl\n3,ok,base\n', 2),
    "tab-separated": ('id\ttrace\n1\tok\n2\tok too\n3\t"runaway\n4\t"next"\n', 4),
}


@pytest.mark.parametrize("kind", list(UNCLOSED_CSV))
def test_a_csv_quote_that_is_never_closed_is_refused_with_its_line(capsys, tmp_path, kind):
    content, line = UNCLOSED_CSV[kind]
    path = tmp_path / ("in.tsv" if "\t" in content else "in.csv")
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=rf"{re.escape(str(path))}: line {line}: a quoted field opened here"):
        list(RecordReader(path))
    out = tmp_path / "run"
    refused(capsys, ["score", path, "--out", out, *TINY, *SCORE_OPTS], f"line {line}:")
    assert not out.exists()


@pytest.mark.parametrize("content", ['[\n  {"trace": "one\\ntwo"},\n  {"trace": "three"}\n]\n',
                                     '[{"trace": "one\\ntwo"}, {"trace": "three"}]\n'])
def test_a_json_array_is_refused_as_not_json_lines(capsys, tmp_path, content):
    path = tmp_path / "records.json"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "run"
    refused(capsys, ["score", path, "--out", out, *TINY, *SCORE_OPTS], str(path), "one JSON array, not JSON Lines",
            "jq -c")
    assert not out.exists()


@pytest.mark.parametrize("name, content, words", [
    ("empty.jsonl", "", "holds no records"), ("blank.jsonl", "\n  \n", "holds no records"),
    ("header.csv", "id,trace\n", "holds a header but no records"), ("empty.tsv", "", "holds no records"),
    ("junk.jsonl", "{}\n[1, 2]\n", "none of its 2 lines is a JSON object with fields (line 2: not a JSON object"),
])
def test_an_input_without_records_is_refused_as_such(capsys, tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "run"
    refused(capsys, ["score", path, "--out", out, *TINY, *SCORE_OPTS], str(path), words)
    assert not out.exists()


def test_csv_quoting_mistakes_within_one_record_are_that_records_error(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,trace\n1,"multi\nline ""quoted"" trace"\n2,"stray"quote\n3,a,b\n4,"last\n',
                    encoding="utf-8")
    recs = list(RecordReader(path))
    assert [(r.line, r.ok) for r in recs] == [(2, True), (4, False), (5, False), (6, False)]
    assert recs[0].text == 'multi\nline "quoted" trace'
    assert "two quotes" in recs[1].error and "3 fields where the header has 2" in recs[2].error
    assert "not closed before the end of the file" in recs[3].error


# ====================================================================== 3. corrupt or foreign files
def _damage(src: Path, dest: Path, how: str) -> Path:
    """A copy of the .npz ``src`` damaged ``how``."""
    data = src.read_bytes()
    if how == "zero-byte":
        data = b""
    elif how == "truncated":
        data = data[: len(data) // 2]
    elif how == "bad CRC":  # flip the last byte of the first array's data: its zip CRC no longer matches
        with zipfile.ZipFile(src) as z:
            info = next(i for i in z.infolist() if i.filename != "header.npy")
        local = info.header_offset  # the local header's own name and extra lengths, at bytes 26 and 28
        start = local + 30 + int.from_bytes(data[local + 26:local + 28], "little") + \
            int.from_bytes(data[local + 28:local + 30], "little")
        data = bytearray(data)
        data[start + info.compress_size - 1] ^= 0xFF
        data = bytes(data)
    elif how == "header lacks a field":
        with np.load(src) as z:
            arrays = dict(z)
        header = json.loads(arrays["header"].tobytes())
        header.pop("params" if "params" in header else "steps")
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        np.savez(dest.with_suffix(""), **arrays)
        return dest
    elif how == "foreign npz":
        np.savez(dest.with_suffix(""), weights=np.arange(3))
        return dest
    elif how == "text file":
        data = b"not an archive\n"
    dest.write_bytes(data)
    return dest


DAMAGE = ["zero-byte", "truncated", "bad CRC", "header lacks a field", "foreign npz", "text file"]
DAMAGE_WORDS = {"zero-byte": "empty file", "truncated": "truncated or damaged", "bad CRC": "CRC",
                "header lacks a field": "header lacks", "foreign npz": "no 'header' entry",
                "text file": "not an .npz"}


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_clusterer_is_one_error_naming_the_file(capsys, work, tmp_path, how):
    bad = _damage(work["clusterer"], tmp_path / "clu.npz", how)
    refused(capsys, ["analyze", work["trace"], *TINY, "--clusterer", bad], str(bad), DAMAGE_WORDS[how])
    out = tmp_path / "run"
    refused(capsys, ["score", work["data"], "--out", out, *TINY, "--quiet", "--clusterer", bad], str(bad))
    assert not out.exists()
    with pytest.raises(InputError, match=re.escape(str(bad))):
        load_clusterer(bad)


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_trace_is_one_error_naming_the_file(capsys, work, tmp_path, how):
    bad = _damage(work["cached"], tmp_path / "trace.npz", how)
    refused(capsys, ["html", bad, "-o", tmp_path / "page.html"], str(bad), DAMAGE_WORDS[how])
    assert not (tmp_path / "page.html").exists()
    with pytest.raises(InputError, match=re.escape(str(bad))):
        Trace.load(bad)


def test_a_clusterer_with_invalid_parameters_or_fitted_values_is_damaged(capsys, work, tmp_path):
    with np.load(work["clusterer"]) as z:
        arrays = dict(z)
    header = json.loads(arrays["header"].tobytes())
    for name, change in (("params", {"method": "zzz"}), ("fitted", {"n_clusters_": "x"}),
                         ("fitted", {"layer_": 1.5})):
        bad = {**header, name: {**header[name], **change}}
        path = tmp_path / f"{next(iter(change))}.npz"
        np.savez(path, **{**arrays, "header": np.frombuffer(json.dumps(bad).encode(), dtype=np.uint8)})
        refused(capsys, ["analyze", work["trace"], *TINY, "--clusterer", path], str(path), "damaged")


RUN_DAMAGE = {  # file of a run folder -> (its damaged content, words of the error)
    "fit.json": ("{}", "damaged fit file"),
    "models.json": ("[1]", "damaged model identities file"),
    "manifest.json": ('{"format": "reasongraph.run", "version": 1, "options": 5}', "not a reasongraph run manifest"),
    "errors.jsonl": ('{"line": 99, "id": null, "reason": "x"}\ngarbage\n', "errors.jsonl:2: corrupt line"),
}


@pytest.mark.parametrize("name", list(RUN_DAMAGE))
def test_a_resumed_run_with_a_damaged_file_is_refused_and_left_as_it_was(capsys, work, tmp_path, name):
    run = tmp_path / "run"
    run.mkdir()
    for p in work["run"].iterdir():
        if p.is_file() and p.name != "summary.json":  # no summary: the run is not finished, so it resumes
            (run / p.name).write_bytes(p.read_bytes())
    content, words = RUN_DAMAGE[name]
    (run / name).write_text(content)
    before = _snapshot(run)
    refused(capsys, ["score", work["data"], "--out", run, *TINY, *SCORE_OPTS, "--group-by", "model", "--pair-by",
                     "pair"], str(run), words)
    assert _snapshot(run) == before


@pytest.mark.parametrize("command", ["compare", "html"])
def test_a_run_whose_rows_have_a_corrupt_line_is_named_by_line(capsys, work, tmp_path, command):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("manifest.json", "fit.json", "summary.json", "clusterer.npz"):
        (run / name).write_bytes((work["run"] / name).read_bytes())
    lines = (work["run"] / "rows.jsonl").read_text().splitlines(keepends=True)
    lines[2] = '{"line": 3, "id": "r2", broken\n'
    (run / "rows.jsonl").write_text("".join(lines))
    before = _snapshot(run)
    argv = (["compare", run, "--a", "base", "--b", "rl"] if command == "compare" else
            ["html", run, "-o", tmp_path / "report.html"])
    refused(capsys, argv, f"{run / 'rows.jsonl'}:3: corrupt line")
    assert _snapshot(run) == before and not (tmp_path / "report.html").exists()


def test_html_refuses_saved_results_that_lack_what_the_page_needs(capsys, work, tmp_path):
    saved = tmp_path / "saved"
    assert run_cli(capsys, ["analyze", work["trace"], *TINY, "--n-shifts", "10", "--save", saved])[0] == 0
    good = json.loads((saved / "analysis.json").read_text())
    for name, change in (("no-layer", lambda d: d["params"].pop("layer")), ("params", lambda d: d.update(params=3)),
                         ("labels", lambda d: d.update(labels=d["labels"][:-1]))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "trace.npz").write_bytes((saved / "trace.npz").read_bytes())
        bad = json.loads(json.dumps(good))
        change(bad)
        (folder / "analysis.json").write_text(json.dumps(bad))
        refused(capsys, ["html", folder, "-o", tmp_path / "page.html"], str(folder / "analysis.json"))
    for kind in ("trace", "report"):
        payload = tmp_path / f"{kind}.json"
        payload.write_text(json.dumps({"format": "reasongraph.view", "kind": kind, "title": "cut short"}))
        refused(capsys, ["html", payload, "-o", tmp_path / "page.html"], str(payload), f"a {kind} view payload "
                                                                                       "must hold")
    comparison = tmp_path / "comparison.json"
    comparison.write_text("[1, 2]")
    refused(capsys, ["html", work["run"], "-o", tmp_path / "page.html", "--compare", comparison], str(comparison))
    assert not (tmp_path / "page.html").exists()


# ====================================================================== 4. output paths: checked before any work
# A model that does not exist: were the output not checked first, the error would be about the model.
NO_MODEL = ["--model", "./no-such-model"]


def test_outputs_in_a_read_only_folder_are_refused_before_any_work(capsys, work, readonly_dir):
    where = str(readonly_dir)
    refused(capsys, ["score", work["data"], "--out", readonly_dir / "run", *NO_MODEL, "--quiet"], "--out", where)
    refused(capsys, ["analyze", work["trace"], *NO_MODEL, "--save", readonly_dir / "saved"], "--save", where)
    refused(capsys, ["analyze", work["trace"], *NO_MODEL, "--html", readonly_dir / "t.html"], "--html", where)
    refused(capsys, ["html", work["cached"], "-o", readonly_dir / "t.html"], "--out", where)
    refused(capsys, ["compare", work["run"], "--a", "base", "--b", "rl", "--html", readonly_dir / "c.html"],
            "--html", where)
    refused(capsys, ["score", work["data"], "--out", readonly_dir.parent / "run2", *NO_MODEL, "--quiet",
                     "--cache-dir", readonly_dir / "cache"], "--cache-dir", where)
    assert list(readonly_dir.iterdir()) == [] and not (readonly_dir.parent / "run2").exists()


def test_an_output_path_of_the_wrong_kind_is_refused_before_any_work(capsys, work, tmp_path):
    folder, file = tmp_path / "a-folder", tmp_path / "a-file"
    folder.mkdir()
    file.write_text("keep me")
    refused(capsys, ["analyze", work["trace"], *NO_MODEL, "--html", folder], "--html", "is a folder")
    refused(capsys, ["analyze", work["trace"], *NO_MODEL, "--save", file], "--save", "is not a folder")
    refused(capsys, ["score", work["data"], "--out", file, *NO_MODEL, "--quiet"], "--out", "is not a folder")
    refused(capsys, ["score", work["data"], "--out", tmp_path / "run", *NO_MODEL, "--quiet", "--html", folder],
            "--html", "is a folder")
    refused(capsys, ["compare", work["run"], "--a", "base", "--b", "rl", "--html", folder], "--html", "is a folder")
    refused(capsys, ["html", work["run"], "-o", folder], "--out", "is a folder")
    assert file.read_text() == "keep me" and list(folder.iterdir()) == [] and not (tmp_path / "run").exists()


def test_python_writers_refuse_an_output_path_of_the_wrong_kind(work, tmp_path):
    from reasongraph.runs.folder.report import write_run_report

    analysis = rg.analyze_trace(Trace.load(work["cached"]), n_shifts=10)
    file = tmp_path / "a-file"
    file.write_text("keep me")
    python_refuses(analysis.save, "directory", file)
    python_refuses(analysis.to_html, "path", tmp_path)
    python_refuses(write_run_report, "path", work["run"], tmp_path)
    assert file.read_text() == "keep me"


# ====================================================================== 5. huge input
@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    """A 50 MB single-line trace, as a text file and as the first record of a JSONL file of four."""
    root = tmp_path_factory.mktemp("huge")
    text = "word " * 10_000_000
    (root / "huge.txt").write_text(text, encoding="utf-8")
    records = [{"id": "huge", "trace": text}] + _records(3, seed=5)
    return {"txt": root / "huge.txt", "jsonl": _write_jsonl(root / "huge.jsonl", records)}


def test_a_huge_trace_is_refused_at_once_and_cut_with_truncate(capsys, huge, tiny):
    line = refused(capsys, ["analyze", huge["txt"], *TINY], "50,000,000 characters", "--truncate")
    assert "truncate=True" not in line
    code, err, out = run_cli(capsys, ["analyze", huge["txt"], *TINY, "--truncate", "--json", "--n-shifts", "10"])
    assert code == 0, err
    assert json.loads(out)["metrics"]["n_tokens"] == tiny.context_length - 1  # the BOS token fills the rest
    message = python_refuses(rg.analyze, "truncate", huge["txt"].read_text(), model=tiny)
    assert "truncate=True" in message


@pytest.mark.slow
def test_a_huge_prompt_is_refused_before_it_is_tokenized(capsys, huge, tiny, tmp_path):
    data = _write_jsonl(tmp_path / "in.jsonl", [{"id": "p", "problem": huge["txt"].read_text(),
                                                  "trace": _trace_text(random.Random(2))}] + _records(2, seed=7))
    out = tmp_path / "run"
    code, err, _ = run_cli(capsys, ["score", data, "--out", out, *TINY, *SCORE_OPTS, "--prompt-field", "problem"])
    assert code == 0, err
    (error,) = rg.ScoredRun(out).errors()
    assert error["line"] == 1 and "the prompt of the trace is 50,000,000 characters" in error["reason"]
    assert [r["line"] for r in rg.ScoredRun(out).rows()] == [2, 3]
    with pytest.raises(InputError, match="the prompt of the trace is 50,000,000 characters"):
        rg.analyze("a short trace\nof two lines", huge["txt"].read_text(), model=tiny, truncate=True)


@pytest.mark.slow
def test_a_huge_record_is_that_records_error_in_score_and_cut_with_truncate(capsys, huge, tmp_path):
    out = tmp_path / "run"
    code, err, _ = run_cli(capsys, ["score", huge["jsonl"], "--out", out, *TINY, *SCORE_OPTS])
    assert code == 0, err
    run = rg.ScoredRun(out)
    errors, rows = list(run.errors()), list(run.rows())
    assert [e["line"] for e in errors] == [1] and [r["line"] for r in rows] == [2, 3, 4]
    assert "50,000,000 characters" in errors[0]["reason"] and "--truncate" in errors[0]["reason"]
    assert any("skipped line 1 (id 'huge')" in line and "--truncate" in line for line in err)
    code, err, _ = run_cli(capsys, ["score", huge["jsonl"], "--out", tmp_path / "cut", *TINY, *SCORE_OPTS,
                                    "--truncate"])
    assert code == 0, err
    rows = list(rg.ScoredRun(tmp_path / "cut").rows())
    assert [r["line"] for r in rows] == [1, 2, 3, 4] and rows[0]["n_tokens_dropped"] > 0


# ====================================================================== 6. two writers on one run folder
def _score_command(data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "reasongraph", "score", str(data), "--out", str(out), *TINY, *SCORE_OPTS]


def _start(argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_manifest(out: Path, proc: subprocess.Popen) -> None:
    """Until the writer has written its manifest: it holds the run folder's lock from then on."""
    if not wait_for((out / "manifest.json").exists, proc):
        proc.kill()
        pytest.fail(f"the writer never wrote its manifest: {proc.communicate()}")


@pytest.fixture(scope="module")
def writers(tmp_path_factory):
    """A small input and the rows of an uninterrupted run of it (the reference)."""
    root = tmp_path_factory.mktemp("writers")
    data = _write_jsonl(root / "in.jsonl", _records(8, seed=3))
    ref = root / "ref"
    assert cli_main([str(a) for a in ["score", data, "--out", ref, *TINY, *SCORE_OPTS]]) == 0
    return {"root": root, "data": data, "rows": (ref / "rows.jsonl").read_bytes()}


@pytest.mark.slow
def test_a_second_writer_is_refused_and_the_first_writes_exact_rows(writers):
    out = writers["root"] / "shared"
    first = _start(_score_command(writers["data"], out))
    _wait_for_manifest(out, first)
    first.send_signal(signal.SIGSTOP)  # hold it inside its run, lock taken, while the second one starts
    try:
        second = _start(_score_command(writers["data"], out))
        _, err = second.communicate(timeout=300)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2
    assert err.splitlines() == [f"reasongraph score: error: {out} is being written by another process; wait for "
                                "it to finish, or use another --out"]
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert (out / "rows.jsonl").read_bytes() == writers["rows"]


@pytest.mark.slow
def test_two_writers_started_together_never_both_write(writers):
    out = writers["root"] / "together"
    procs = [_start(_score_command(writers["data"], out)) for _ in range(2)]
    results = [(p.wait(timeout=600), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    # One is refused while the other writes; if one finished before the other even reached the folder, the
    # second found a complete run and had nothing to do. Either way the rows are exact.
    assert codes in ([0, 2], [0, 0]), results
    for code, err in results:
        if code == 2:
            assert err.splitlines() == [f"reasongraph score: error: {out} is being written by another process; "
                                        "wait for it to finish, or use another --out"]
    assert (out / "rows.jsonl").read_bytes() == writers["rows"]


@pytest.mark.slow
def test_the_lock_of_a_killed_writer_never_blocks_a_resume(writers):
    out = writers["root"] / "killed"
    first = _start(_score_command(writers["data"], out))
    _wait_for_manifest(out, first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)
    assert (out / ".lock").exists()  # the lock file stays; the flock died with its process
    resumed = _start(_score_command(writers["data"], out))
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert (out / "rows.jsonl").read_bytes() == writers["rows"]


# ====================================================================== 7. messages in the caller's words
def test_an_unknown_model_name_says_what_was_looked_for_and_where(capsys, work, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    refused(capsys, ["analyze", work["trace"], "--model", "no-org/no-such-model"],
            "'no-org/no-such-model'", "hub id", "Hugging Face cache", "HF_HUB_OFFLINE")
    empty = tmp_path / "empty-model"
    empty.mkdir()
    refused(capsys, ["analyze", work["trace"], "--model", empty], str(empty), "config.json")
    out = tmp_path / "run"
    refused(capsys, ["score", work["data"], "--out", out, "--quiet", "--model", empty], "--model", "config.json")
    assert not out.exists()
    (empty / "config.json").write_text("{}")
    refused(capsys, ["analyze", work["trace"], "--model", empty], str(empty), "tokenizer")
    with pytest.raises(InputError, match="model must be a model name or path"):
        rg.analyze("a trace long enough\nto have steps", model=5)


def test_text_with_a_bom_is_read_as_text(capsys, work, tmp_path, tiny):
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + work["trace"].read_bytes())
    code, err, out = run_cli(capsys, ["analyze", bom, *TINY, "--json", "--n-shifts", "10"])
    plain = run_cli(capsys, ["analyze", work["trace"], *TINY, "--json", "--n-shifts", "10"])[2]
    assert code == 0, err
    assert out == plain
    for name, content in (("in.jsonl", '{"trace": "a\\nb"}\n'), ("in.csv", "trace\n\"a\nb\"\n")):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + content.encode())
        assert [r.text for r in RecordReader(path)] == ["a\nb"]


def test_bytes_and_lone_surrogates_are_refused_as_what_they_are(capsys, tiny, tmp_path):
    with pytest.raises(InputError, match=r"must be a str, got bytes: decode it first"):
        rg.analyze(b"some trace\nwith lines", model=tiny)
    with pytest.raises(InputError, match=r"lone surrogate \(U\+D800\) at character 5"):
        rg.analyze("some \ud800 trace\nwith lines", model=tiny)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café au lait\nand more".encode("latin-1"))
    refused(capsys, ["analyze", bad, *TINY], str(bad), "not UTF-8", "0xe9")
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": "s", "trace": "a lone \\ud800 here\\nand more"}\n')
    (rec,) = RecordReader(data)
    assert rec.error == "text field 'trace' holds a lone surrogate (a \\ud800-style escape): not valid Unicode text"


@pytest.mark.parametrize("option, value, flag", [
    ("lookback", -3, "--lookback"), ("n_shifts", -5, "--n-shifts"), ("temperature", 0.0, "--temperature"),
    ("layers", [999], "--layer"),
])
def test_the_same_error_reads_in_flags_on_the_command_line_and_in_names_from_python(capsys, work, tiny, option,
                                                                                       value, flag):
    cli_value = str(value[0] if isinstance(value, list) else value)
    line = refused(capsys, ["analyze", work["trace"], *TINY, flag, cli_value], flag)
    assert not re.search(rf"(?<![\w-]){option}\b", line)
    message = python_refuses(rg.analyze, option, work["trace"].read_text(), model=tiny, **{option: value})
    assert line.split(": error: ", 1)[1].replace(flag, option) == message


def test_a_usage_error_is_one_line_too(capsys, work):
    refused(capsys, ["analyze", work["trace"], "--k", "two"], "--k", "invalid int value")
    refused(capsys, ["score", work["data"]], "--out")
    refused(capsys, ["compare", work["run"], "--a", "base", "--b", "rl", "--bogus"], "unrecognized arguments")

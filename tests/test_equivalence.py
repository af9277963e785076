"""The redesign's gate: the code before it (tag ``redesign-base``) and the working tree's write the same runs.

The old code is not committed: it is extracted at test time with ``git archive redesign-base reasongraph`` (or the
commit d72bae2 when the tag is missing), because cache keys hold the transformers version (inside the config hash)
and float last bits depend on the CPU, so both sides must run here, now. Each side runs its jobs in a fresh process
with one thread (tests/equivalence/run_cases.py, public API only). ``REASONGRAPH_OLD_CODE=<dir>`` points at another
old checkout (a folder holding ``reasongraph/``). Without git history (a shallow clone) the tests skip and say so.

Inputs, K pinned everywhere (the new default, k="auto", would choose another K than the old default of 200):

- case P (pairs): tests/equivalence/pairs.jsonl, 12 real traces (4 problems x 3 models) and 2 bad records, scored
  by two tiny random models (one for Qwen2.5-Math-7B's records, one for the others), at two layers, K = 6;
- case V (variants): P's records clustered per group, cut in windows of 64 tokens, an absolute forking threshold,
  the span rule with 50 shifts;
- case S (samples): 3 prompts x 3 samples drawn by the old ``generate(score=True)`` plus a hand-added empty
  completion, scored by sample group (diversity.jsonl), at each record's temperature, on-policy, reading the trace
  cache generate wrote.

Checks (rows compared by keys and key order; ints, bools and strings equal; floats within 1e-9, NaN == NaN):
fresh runs equal (manifest bytes, cache-entry names, models.json, fit.json, clusterer arrays, rows, errors,
diversity.jsonl, summary.json but its timing); an old run resumed by the new code in pass 2 and in pass 1
extracts nothing and ends with the old rows; the old trace cache serves a new run folder; an old generate output
cut short is resumed by the new code to the old records, entries and shards; ``analyze`` of examples/trace.txt
gives the same analysis (the tiny model here, SmolLM2 under the marker ``model``); with Ray installed, the pass-2
resume on the Ray engine.
"""
from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BASE_TAG = "redesign-base"
BASE_COMMIT = "d72bae202dbaea7d4f9ac651de9af3108e98d488"
SCRIPT = REPO / "tests" / "equivalence" / "run_cases.py"
PAIRS = REPO / "tests" / "equivalence" / "pairs.jsonl"
TRACE, PROMPT = REPO / "examples" / "trace.txt", REPO / "examples" / "prompt.txt"
TOLERANCE = 1e-9

PAIR_OPTIONS = {"model": {"Qwen/Qwen2.5-Math-7B": "tiny-random-0", "*": "tiny-random-1"},
                "prompt_field": "problem", "group_field": "model", "pair_field": "pair_key",
                "layers": [0.5, 1.0], "k": 6, "seed": 0}
CASES = {
    "P": PAIR_OPTIONS,
    "V": {**PAIR_OPTIONS, "cluster_by": "group", "segment": "window:64", "forking_threshold": 1.0, "rule": "span",
          "n_shifts": 50},
    "S": {"model": "tiny-random-0", "prompt_field": "prompt", "sample_group_field": "prompt_id",
          "temperature_field": "temperature", "policy_field": "model", "k": 4},
}
SAMPLE_PROMPTS = ["Add 17 and 25, then explain.", "List three prime numbers.", "What is half of 36?"]
SAMPLING = {"model": "tiny-random-0", "samples": 3, "temperature": 0.8, "max_new_tokens": 40, "seed": 0,
            "score": True}
GENERATE = {"model": "tiny-random-0", "samples": 2, "temperature": 0.9, "max_new_tokens": 24, "seed": 5,
            "score": True, "layers": [0.5, 1.0]}
GENERATE_PROMPTS = ["Count from one to five.", "Name two colours.", "Spell cat backwards."]


# ---------------------------------------------------------------------- the two sides
def old_code(tmp: Path) -> Path:
    """A folder holding the package at redesign-base: ``REASONGRAPH_OLD_CODE``, else extracted with git archive."""
    given = os.environ.get("REASONGRAPH_OLD_CODE")
    if given:
        if not (Path(given) / "reasongraph" / "__init__.py").is_file():
            pytest.fail(f"REASONGRAPH_OLD_CODE={given} holds no reasongraph/ package", pytrace=False)
        return Path(given)
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the old code is extracted from the repository's history "
                    "(or set REASONGRAPH_OLD_CODE to a checkout of redesign-base)")
    for ref in (BASE_TAG, BASE_COMMIT):
        found = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                               capture_output=True, text=True)
        if found.returncode == 0:
            break
    else:
        pytest.skip(f"the repository history holds neither the tag {BASE_TAG} nor the commit {BASE_COMMIT[:7]} "
                    "(a shallow clone?): run `git fetch --unshallow --tags`, or set REASONGRAPH_OLD_CODE to a "
                    "checkout of it")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "reasongraph"], capture_output=True,
                             check=True).stdout
    out = tmp / "old"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(out, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return out


def run_jobs(code: Path, jobs: list[dict], where: Path) -> None:
    """Run ``jobs`` with the reasongraph of ``code`` in a fresh process with one thread; fail with its stderr."""
    where.mkdir(parents=True, exist_ok=True)
    spec = where / "jobs.json"
    spec.write_text(json.dumps(jobs, indent=1), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--code", str(code), str(spec)], env=env,
                          capture_output=True, text=True, timeout=3000)
    (where / "log.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
    assert done.returncode == 0, f"{code}: jobs failed\n{done.stderr[-4000:]}"


def score(inp: Path, out: Path, case: str, **extra: Any) -> dict:
    return {"do": "score", "input": str(inp), "out": str(out), "options": {**CASES[case], **extra}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> SimpleNamespace:
    """Every old run, then the new code's runs (fresh, and resuming copies of the old ones)."""
    tmp = tmp_path_factory.mktemp("equivalence")
    old = old_code(tmp)
    r = SimpleNamespace(tmp=tmp, old_code=old, A=tmp / "A", D=tmp / "D", samples=tmp / "inputs" / "samples.jsonl",
                        gen=tmp / "gen" / "x.jsonl", gen_ref=tmp / "gen_ref")
    r.inputs = {"P": PAIRS, "V": PAIRS, "S": r.samples}
    empty = {"id": "2/s3", "prompt_id": "2", "sample": 3, "prompt": SAMPLE_PROMPTS[2], "trace": "",
             "model": "tiny-random-llama-0", "temperature": 0.8, "top_p": 1.0, "seed": 0, "prompt_format": "raw",
             "finish_reason": "eos", "n_tokens": 0, "ids_round_trip": True}
    run_jobs(old, [
        {"do": "generate", "prompts": SAMPLE_PROMPTS, "out": str(r.samples), "options": SAMPLING},
        {"do": "append", "path": str(r.samples), "record": empty},
        *[score(r.inputs[c], r.A / c, c, **({"cache_dir": f"{r.samples}.traces"} if c == "S" else {}))
          for c in CASES],
        {"do": "generate", "prompts": GENERATE_PROMPTS, "out": str(r.gen), "options": GENERATE},
        {"do": "analyze", "text": str(TRACE), "prompt": str(PROMPT), "out": str(r.A / "analysis"),
         "options": {"model": "tiny-random-0", "k": 5}},
    ], tmp / "old_log")
    # resumes of old runs: in pass 2 (the first 5 rows kept) and in pass 1 (no fit, no rows)
    for case in ("P", "S"):
        _copy_cut_in_pass2(r.A / case, tmp / "R2" / case)
        _copy_cut_in_pass1(r.A / case, tmp / "R3" / case)
    _copy_cut_in_pass2(r.A / "P", tmp / "R2ray" / "P")
    # an old generate output cut to its first record, its entries and shards gone
    r.gen_ref.mkdir()
    for suffix in ("", ".traces", ".entropy", ".manifest.json"):
        src = Path(f"{r.gen}{suffix}")
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, r.gen_ref / f"x.jsonl{suffix}")
    r.gen.write_text(r.gen.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
    for suffix in (".traces", ".entropy"):
        shutil.rmtree(f"{r.gen}{suffix}")
    s_cache = {"cache_dir": f"{r.samples}.traces"}
    run_jobs(REPO, [
        *[score(r.inputs[c], r.D / c, c, **(s_cache if c == "S" else {})) for c in CASES],
        *[score(r.inputs[c], tmp / "R2" / c, c, **(s_cache if c == "S" else {})) for c in ("P", "S")],
        *[score(r.inputs[c], tmp / "R3" / c, c, **(s_cache if c == "S" else {})) for c in ("P", "S")],
        score(PAIRS, tmp / "C4", "P", cache_dir=str(r.A / "P" / "traces")),
        {"do": "generate", "prompts": GENERATE_PROMPTS, "out": str(r.gen), "options": GENERATE},
        {"do": "analyze", "text": str(TRACE), "prompt": str(PROMPT), "out": str(r.D / "analysis"),
         "options": {"model": "tiny-random-0", "k": 5}},
    ], tmp / "new_log")
    return r


def _copy_cut_in_pass2(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst)
    rows = (dst / "rows.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (dst / "rows.jsonl").write_text("".join(rows[:5]), encoding="utf-8")
    for name in ("summary.json", "rows.parquet", "diversity.jsonl"):
        (dst / name).unlink(missing_ok=True)


def _copy_cut_in_pass1(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst)
    for path in [dst / "fit.json", dst / "rows.jsonl", dst / "errors.jsonl", *dst.glob("clusterer*.npz")]:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------- comparisons
def assert_close(a: Any, b: Any, where: str = "") -> None:
    """Equal JSON values: dict keys in the same order, ints/bools/strings equal, floats within TOLERANCE."""
    assert type(a) is type(b), f"{where}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for key in a:
            assert_close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{where}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE), \
            f"{where}: {a!r} vs {b!r}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def assert_npz_equal(a: Path, b: Path) -> None:
    """The same arrays (floats within TOLERANCE); a JSON ``header`` array compared as JSON."""
    with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
        assert sorted(x.files) == sorted(y.files), (a, x.files, y.files)
        for key in x.files:
            u, v = x[key], y[key]
            if key == "header":
                assert_close(json.loads(u.tobytes()), json.loads(v.tobytes()), f"{a.name}:header")
                continue
            assert (u.dtype, u.shape) == (v.dtype, v.shape), (a, key)
            if np.issubdtype(u.dtype, np.floating):
                np.testing.assert_allclose(u, v, rtol=TOLERANCE, atol=TOLERANCE, equal_nan=True, err_msg=f"{a}:{key}")
            else:
                np.testing.assert_array_equal(u, v, err_msg=f"{a}:{key}")


def entries(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*.npz")}


def timing(run: Path) -> dict:
    return read(run / "summary.json")["timing"]


#: Keys added after redesign-base (issue 21.1: the K option as given, each K's reason, the run's notes): left out
#: of the comparison where the old side lacks them; test_added_k_keys_say_what_the_old_k_was checks them.
ADDED_FIT, ADDED_UNIT, ADDED_SUMMARY = ("k_option", "notes"), ("k_rule",), ("k_option", "k", "k_rule", "notes")


def without_added(old: dict, new: dict, keys: tuple[str, ...]) -> dict:
    """``new`` without the added ``keys`` that ``old`` lacks (its other keys in their order)."""
    return {key: value for key, value in new.items() if key in old or key not in keys}


def comparable_fit(old: dict, new: dict) -> dict:
    new = without_added(old, new, ADDED_FIT)
    units = {u: without_added(old["units"].get(u, {}), entry, ADDED_UNIT) for u, entry in new["units"].items()}
    return {**new, "units": units}


def assert_same_results(a: Path, b: Path, *, summary_but: tuple[str, ...] = ("timing",)) -> None:
    """rows, errors, diversity.jsonl, fit.json and summary.json (but ``summary_but``) of two run folders."""
    assert_close(jsonl(a / "rows.jsonl"), jsonl(b / "rows.jsonl"), f"{b.name}/rows")
    assert_close(jsonl(a / "errors.jsonl"), jsonl(b / "errors.jsonl"), f"{b.name}/errors")
    assert_close(jsonl(a / "diversity.jsonl"), jsonl(b / "diversity.jsonl"), f"{b.name}/diversity")
    fit_a = read(a / "fit.json")
    assert_close(fit_a, comparable_fit(fit_a, read(b / "fit.json")), f"{b.name}/fit")
    summary_a, summary_b = read(a / "summary.json"), read(b / "summary.json")
    summary_b = without_added(summary_a, summary_b, ADDED_SUMMARY)
    summary_b["fit"] = comparable_fit(summary_a["fit"], summary_b["fit"])
    for key in summary_but:
        summary_a.pop(key), summary_b.pop(key)
    assert_close(summary_a, summary_b, f"{b.name}/summary")


# ---------------------------------------------------------------------- the checks
def test_the_cases_exercise_what_they_should(runs):
    """A control for the checks below: errors, several clusterings, recorded entries and an empty trace happen."""
    assert [e["id"] for e in jsonl(runs.A / "P" / "errors.jsonl")] == ["bad/empty", "bad/surrogate"]
    assert len(jsonl(runs.A / "P" / "rows.jsonl")) == 12
    assert len(list((runs.A / "P").glob("clusterer-*.npz"))) == 4  # 2 models x 2 layers
    summary = read(runs.A / "S" / "summary.json")
    assert summary["extraction"]["sampled"] > 0 and summary["n_empty"] == 1, summary["extraction"]
    assert len(jsonl(runs.A / "S" / "diversity.jsonl")) == 3
    assert timing(runs.D / "P")["n_extracted"] == 14 - 2  # the new fresh run extracts: nothing was cached


@pytest.mark.parametrize("case", list(CASES))
def test_a_fresh_run_writes_the_same_folder(runs, case):
    a, d = runs.A / case, runs.D / case
    assert (a / "manifest.json").read_bytes() == (d / "manifest.json").read_bytes()
    assert read(a / "models.json") == read(d / "models.json")
    if case != "S":  # S reads and writes the trace cache generate wrote, outside the run folder
        assert entries(a / "traces") == entries(d / "traces")
    clusterers = sorted(p.name for p in a.glob("clusterer*.npz"))
    assert clusterers == sorted(p.name for p in d.glob("clusterer*.npz")) and clusterers
    for name in clusterers:
        assert_npz_equal(a / name, d / name)
    assert_same_results(a, d)


@pytest.mark.parametrize("case", list(CASES))
def test_added_k_keys_say_what_the_old_k_was(runs, case):
    """The K the new code reports (summary.json's k and each unit's k_rule) is the old run's K, given as pinned."""
    old_fit, summary = read(runs.A / case / "fit.json"), read(runs.D / case / "summary.json")
    k = CASES[case]["k"]
    assert (summary["k_option"], summary["fit"]["k_option"]) == (k, k)
    top = max((u for u in old_fit["units"].values() if u["k"]), key=lambda u: u["n_steps"])
    assert summary["k"] == top["k"] and summary["k_rule"].startswith("given")
    for unit, entry in summary["fit"]["units"].items():
        assert entry["k"] == old_fit["units"][unit]["k"] and entry["k_rule"].startswith("given"), unit


@pytest.mark.parametrize("case", ["P", "S"])
def test_an_old_run_resumes_in_pass_2_without_extracting(runs, case):
    resumed = runs.tmp / "R2" / case
    assert timing(resumed)["n_extracted"] == 0 and timing(resumed)["n_models_loaded"] == 0
    assert_same_results(runs.A / case, resumed)


@pytest.mark.parametrize("case", ["P", "S"])
def test_an_old_run_resumes_in_pass_1_without_extracting(runs, case):
    resumed = runs.tmp / "R3" / case
    assert timing(resumed)["n_extracted"] == 0
    assert_same_results(runs.A / case, resumed)
    for clusterer in (runs.A / case).glob("clusterer*.npz"):
        assert_npz_equal(clusterer, resumed / clusterer.name)


def test_an_old_trace_cache_serves_a_new_run_folder(runs):
    assert timing(runs.tmp / "C4")["n_extracted"] == 0
    assert_same_results(runs.A / "P", runs.tmp / "C4", summary_but=("timing", "trace_cache"))  # where it is


def test_an_old_generate_output_resumes(runs):
    ref, gen = runs.gen_ref / "x.jsonl", runs.gen
    assert Path(f"{gen}.manifest.json").read_bytes() == Path(f"{ref}.manifest.json").read_bytes()
    assert_close(jsonl(ref), jsonl(gen), "generate records")
    assert entries(Path(f"{ref}.traces")) == entries(Path(f"{gen}.traces")) != set()
    shards = sorted(p.name for p in Path(f"{ref}.entropy").glob("*.npz"))
    assert shards == sorted(p.name for p in Path(f"{gen}.entropy").glob("*.npz")) and shards
    for name in shards:
        assert_npz_equal(Path(f"{ref}.entropy") / name, Path(f"{gen}.entropy") / name)
    for name in entries(Path(f"{ref}.traces")):
        assert_npz_equal(Path(f"{ref}.traces") / name, Path(f"{gen}.traces") / name)


def test_analyze_gives_the_same_analysis(runs):
    assert_close(read(runs.A / "analysis" / "analysis.json"), read(runs.D / "analysis" / "analysis.json"))
    assert_npz_equal(runs.A / "analysis" / "trace.npz", runs.D / "analysis" / "trace.npz")


@pytest.mark.model
def test_analyze_with_the_default_model_gives_the_same_analysis(tmp_path):
    old = old_code(tmp_path)
    job = {"do": "analyze", "text": str(TRACE), "prompt": str(PROMPT), "options": {"model": "smollm2-135m", "k": 8}}
    run_jobs(old, [{**job, "out": str(tmp_path / "A")}], tmp_path / "old_log")
    run_jobs(REPO, [{**job, "out": str(tmp_path / "D")}], tmp_path / "new_log")
    assert_close(read(tmp_path / "A" / "analysis.json"), read(tmp_path / "D" / "analysis.json"))
    assert_npz_equal(tmp_path / "A" / "trace.npz", tmp_path / "D" / "trace.npz")


def test_an_old_run_resumes_on_the_ray_engine(runs):
    pytest.importorskip("ray", reason="the Ray engine needs the extra reasongraph[ray]")
    resumed = runs.tmp / "R2ray" / "P"
    run_jobs(REPO, [score(PAIRS, resumed, "P", engine="ray")], runs.tmp / "ray_log")
    assert timing(resumed)["n_extracted"] == 0 and timing(resumed)["engine"] == "ray"
    assert_same_results(runs.A / "P", resumed)

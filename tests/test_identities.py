"""What identifies a run, a cached trace and a generate output, byte for byte: golden values from ``redesign-base``.

A resumed run compares its manifest with the one on disk, and a trace-cache entry is found by a hash of the model's
identity, the extraction options and the texts. A refactoring that changes any of these (a key renamed, reordered,
added, a float written as an int) would refuse old run folders or silently re-extract every cached trace. So the
dicts below are literals captured from the code at the tag ``redesign-base`` (d72bae2), and each test writes the
real files through the public API with the tiny random models and compares them with those literals:

- ``manifest.json`` of a scoring run, for six option sets, compared as bytes (key order included);
- ``models.json`` (the model identities) of those runs;
- the trace-cache keys (the entries' file names), recomputed here from the key's formula and the literal cache
  options of each record;
- ``<out>.manifest.json`` of :func:`reasongraph.runs.generate` with and without ``score``, and the keys of the entries
  that ``generate(score=True)`` writes (one plain, one with the prompt-prefix states a sample-group run reads).

The model config enters identities as a SHA-256 of its full JSON, which holds the transformers version; that hash is
computed here by its formula rather than written as a literal, so these goldens hold across library upgrades.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import reasongraph as rg

RECORDS = [
    {"id": "a", "trace": "First we add.\nThen we check.\nSo 4.", "problem": "Add 2 and 2.", "model": "base",
     "pair_key": "p1", "prompt_id": "q1", "temperature": 1.0, "policy": "tiny-random-llama-0"},
    {"id": "b", "trace": "Two and two.\nThat is four.", "problem": "Add 2 and 2.", "model": "rl",
     "pair_key": "p1", "prompt_id": "q1", "temperature": 1.0, "policy": "tiny-random-llama-1"},
    {"id": "c", "trace": "Three times three.\nNine.\nDone.", "problem": "Multiply 3 by 3.", "model": "base",
     "pair_key": "p2", "prompt_id": "q2", "temperature": 0.5, "policy": "tiny-random-llama-0"},
    {"id": "d", "trace": "Nine it is.\nCheck: 3+3+3.", "problem": "Multiply 3 by 3.", "model": "rl",
     "pair_key": "p2", "prompt_id": "q2", "temperature": 0.5, "policy": "tiny-random-llama-1"},
]
INPUT_SHA256 = "1a7008686ea01cbe76a942cc0faef6580306db68d73e895d1aaea53e44e1eebd"  # of the lines written below
INPUT = "<input>"  # the input's resolved path, filled in per test

NO_FIELDS = {"text": "trace", "prompt": None, "id": "id", "group": None, "pair": None, "model": None,
             "sample_group": None, "temperature": None, "policy": None}
DEFAULT_OPTIONS = {
    "input": INPUT, "input_sha256": INPUT_SHA256, "format": "jsonl", "fields": NO_FIELDS, "limit": None,
    "models": {"*": "tiny-random-llama-0"}, "model_field": None, "device": "cpu", "dtype": "float32",
    "layers": [0.9], "segment": "newline", "prompt_format": "raw", "temperature": 1.0, "truncate": False,
    # "k": 200 at redesign-base; the default became "auto" (issue 21.1), stored as given, so a folder started with
    # the old default is refused under auto with one error naming --k 200 (tests/test_k_choice.py)
    "k": "auto", "method": "kmeans", "cluster_by": "model", "fit_sample": None, "rho": 0.2, "forking_threshold": None,
    "rule": "onset", "onset_tokens": 1, "lookback": 0, "n_shifts": 1000, "batch_size": None, "keep_hidden": False,
    "on_error": "skip", "seed": 0, "clusterer": None,
}
EVERY_OPTION = dict(prompt_field="problem", id_field="id", group_field="model", pair_field="pair_key",
                    sample_group_field="prompt_id", temperature_field="temperature", policy_field="policy", limit=3,
                    layers=(0.5, 1.0), segment="sentence", prompt_format="chat", temperature=0.7, truncate=True,
                    k=3, method="kmeans", cluster_by="group", fit_sample=50, rho=0.3, forking_threshold=1.5,
                    rule="span", onset_tokens=2, lookback=1, n_shifts=10, batch_size=2, keep_hidden=True,
                    on_error="fail", seed=7)

#: name: (score_dataset keywords, the manifest options that differ from DEFAULT_OPTIONS (in place, key order kept),
#:        the cache options of every entry but "temperature" (per record when a temperature field is named))
CASES = {
    "defaults": ({}, {}, {"layers": [1], "segment": "newline", "prompt_format": "raw", "truncate": False,
                          "keep_hidden": False}),
    "every_option": (EVERY_OPTION, {
        "fields": {"text": "trace", "prompt": "problem", "id": "id", "group": "model", "pair": "pair_key",
                   "model": None, "sample_group": "prompt_id", "temperature": "temperature", "policy": "policy"},
        "limit": 3, "layers": [0.5, 1.0], "segment": "sentence", "prompt_format": "chat", "temperature": 0.7,
        "truncate": True, "k": 3, "cluster_by": "group", "fit_sample": 50, "rho": 0.3, "forking_threshold": 1.5,
        "rule": "span", "onset_tokens": 2, "lookback": 1, "n_shifts": 10, "batch_size": 2, "keep_hidden": True,
        "on_error": "fail", "seed": 7},
        {"layers": [1, 2], "segment": "sentence", "prompt_format": "chat", "truncate": True, "keep_hidden": True,
         "prefix_tokens": 512}),
    "int_layers": ({"layers": (1, 2)}, {"layers": [1, 2]},
                   {"layers": [1, 2], "segment": "newline", "prompt_format": "raw", "truncate": False,
                    "keep_hidden": False}),
    "ratio_layers": ({"layers": (0.25, 0.75)}, {"layers": [0.25, 0.75]},
                     {"layers": [0, 1], "segment": "newline", "prompt_format": "raw", "truncate": False,
                      "keep_hidden": False}),
    "window": ({"segment": "window:64"}, {"segment": "window:64"},
               {"layers": [1], "segment": "window:64", "prompt_format": "raw", "truncate": False,
                "keep_hidden": False}),
    "two_units": ({"model": {"base": "tiny-random-0", "*": "tiny-random-1"}, "group_field": "model"},
                  {"fields": {**NO_FIELDS, "group": "model"},
                   "models": {"base": "tiny-random-llama-0", "*": "tiny-random-llama-1"}},
                  {"layers": [1], "segment": "newline", "prompt_format": "raw", "truncate": False,
                   "keep_hidden": False}),
}


def _sha(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _cache_key(model: dict, options: dict, text: str, prompt: str | None) -> str:
    """The trace-cache key's formula (trace_cache.py at redesign-base), written out."""
    payload = {"version": 1, "model": model, "options": options, "text": _sha(text), "prompt": _sha(prompt)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _config_sha256(seed: int) -> str:
    config = rg.load_model(f"tiny-random-{seed}", device="cpu", dtype="float32").model.config
    return hashlib.sha256(config.to_json_string(use_diff=False).encode()).hexdigest()


def _identity(seed: int) -> dict:
    """models.json's entry of tiny-random-<seed> on the CPU in float32 (LoadedModel.identity)."""
    return {"name": f"tiny-random-llama-{seed}", "dtype": "torch.float32", "device": "cpu", "hidden_size": 64,
            "num_layers": 2, "config": _config_sha256(seed)}


def _manifest_bytes(options: dict) -> bytes:
    return (json.dumps({"format": "reasongraph.run", "version": 1, "options": options}, indent=2) + "\n").encode()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """Every case of CASES scored once into its own run folder, with the tiny random models."""
    tmp = tmp_path_factory.mktemp("identities")
    path = tmp / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    out = {}
    for name, (keywords, _, _) in CASES.items():
        out[name] = tmp / name
        rg.score_dataset(path, out=out[name], progress=False, **{"model": "tiny-random-0", **keywords})
    return path, out


@pytest.mark.parametrize("case", list(CASES))
def test_the_run_manifest_keeps_its_bytes(runs, case):
    path, out = runs
    expected = {**DEFAULT_OPTIONS, **CASES[case][1], "input": str(path.resolve())}
    assert json.loads((out[case] / "manifest.json").read_text())["options"] == expected
    assert (out[case] / "manifest.json").read_bytes() == _manifest_bytes(expected)


@pytest.mark.parametrize("case", list(CASES))
def test_model_identities_and_cache_keys_keep_their_values(runs, case):
    _, out = runs
    keywords, _, cache_options = CASES[case]
    seeds = {"base": 0, "rl": 1} if case == "two_units" else {"base": 0, "rl": 0}
    assert json.loads((out[case] / "models.json").read_text()) == {
        f"tiny-random-llama-{s}": _identity(s) for s in sorted(set(seeds.values()))}
    scored = RECORDS[:keywords.get("limit", len(RECORDS))]
    expected = set()
    for rec in scored:
        temperature = rec["temperature"] if "temperature_field" in keywords else keywords.get("temperature", 1.0)
        options = {**cache_options, "temperature": float(temperature)}
        options = {k: options[k] for k in ("layers", "segment", "temperature", "prompt_format", "truncate",
                                           "keep_hidden", "prefix_tokens") if k in options}  # the key's order
        prompt = rec["problem"] if "prompt_field" in keywords else None
        expected.add(_cache_key(_identity(seeds[rec["model"]]), options, rec["trace"], prompt))
    assert {p.stem for p in (out[case] / "traces").rglob("*.npz")} == expected


PROMPTS = ["Add 2 and 2.", "Name a colour."]
GENERATE_OPTIONS = {
    "input_sha256": hashlib.sha256(json.dumps(PROMPTS).encode()).hexdigest(), "prompt_field": "prompt",
    "id_field": "id", "model": "tiny-random-llama-0", "model_config": "<config>", "dtype": "torch.float32",
    "device": "cpu", "samples": 2, "temperature": 0.8, "top_p": 0.9, "max_new_tokens": 6, "seed": 3,
    "prompt_format": "raw", "batch_size": 2,
}


@pytest.mark.parametrize("score", [False, True])
def test_the_generate_manifest_keeps_its_bytes(tmp_path, score):
    out = tmp_path / "gen.jsonl"
    extra = {"score": True, "layers": (0.5, 1.0), "segment": "sentence", "batch_size": 3} if score else {}
    records = rg.generate(PROMPTS, model="tiny-random-0", out=out, samples=2, temperature=0.8, top_p=0.9,
                          max_new_tokens=6, seed=3, progress=False, **extra)
    options = {**GENERATE_OPTIONS, "model_config": _config_sha256(0)}
    if score:
        options["batch_size"] = 3
        options["score"] = {"layers": [1, 2], "segment": "sentence", "keep_hidden": False,
                            "cache_dir": str(Path(f"{out}.traces").resolve())}
    expected = {"format": "reasongraph.generate", "version": 3, "input": None, "options": options}
    assert json.loads(Path(f"{out}.manifest.json").read_text()) == expected
    assert Path(f"{out}.manifest.json").read_bytes() == (json.dumps(expected, indent=2) + "\n").encode()
    if not score:
        return
    keys = set()
    for rec in records:
        assert rec["recorded"] == rec["ids_round_trip"]
        if rec["recorded"]:
            for prefix in ({}, {"prefix_tokens": 512}):
                cache = {"layers": [1, 2], "segment": "sentence", "temperature": 0.8, "prompt_format": "raw",
                         "truncate": False, "keep_hidden": False, **prefix}
                keys.add(_cache_key(_identity(0), cache, rec["trace"], rec["prompt"]))
    assert keys, "no sample re-tokenized: pick other prompts or another seed"
    assert {p.stem for p in Path(f"{out}.traces").rglob("*.npz")} == keys

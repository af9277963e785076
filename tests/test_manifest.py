"""The shared lock and manifest (core/manifest.py): one writer at a time for a run folder and a generate output."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reasongraph.core.errors import InputError
from reasongraph.runs.folder.writer import RunStore
from reasongraph.runs.generate.output import GenerateOutput, lock_path, manifest_path

OPTIONS = {"model": "m", "samples": 2, "seed": 0}


def test_a_second_generate_writer_is_refused_while_the_first_holds_its_output(tmp_path: Path):
    out = tmp_path / "deep" / "t.jsonl"
    with GenerateOutput(out, OPTIONS, source=None) as first:
        assert first.done == set() and lock_path(out).exists()
        with pytest.raises(InputError) as refused:
            GenerateOutput(out, OPTIONS, source=None)
        assert str(refused.value) == (f"{out} is being written by another process; wait for it to finish, or use "
                                      "another out")
        out.write_text('{"id": "a/s0"}\n{"id": "a/s1", "tr')  # the first writer's lines, the last one torn
    with GenerateOutput(out, OPTIONS, source=None) as resumed:  # released: the resume opens it
        assert resumed.done == {"a/s0"}
    assert out.read_text() == '{"id": "a/s0"}\n'
    manifest = json.loads(manifest_path(out).read_text())
    assert list(manifest) == ["format", "version", "input", "options"] and manifest["options"] == OPTIONS


def test_a_refused_generate_output_leaves_the_lock_free(tmp_path: Path):
    out = tmp_path / "t.jsonl"
    GenerateOutput(out, OPTIONS, source=None).close()
    with pytest.raises(InputError, match=r"other options \(seed: run has 0, now 1\)"):
        GenerateOutput(out, {**OPTIONS, "seed": 1}, source=None)
    GenerateOutput(out, OPTIONS, source=None).close()  # the refusal released its lock


def test_a_run_folder_and_a_generate_output_lock_alike(tmp_path: Path):
    run = tmp_path / "run"
    with RunStore(run, OPTIONS):
        with pytest.raises(InputError, match="is being written by another process"):
            RunStore(run, OPTIONS)
    with pytest.raises(InputError, match="not a reasongraph run manifest"):
        (run / "manifest.json").write_text("[1]")
        RunStore(run, OPTIONS)
    RunStore(tmp_path / "run2", OPTIONS).close()
    assert sorted(p.name for p in (tmp_path / "run2").iterdir()) == [".lock", "manifest.json"]


def test_a_second_generate_is_refused_while_one_samples(tiny, tmp_path: Path, monkeypatch):
    from reasongraph.runs.generate import generate as module

    out, seen = tmp_path / "t.jsonl", []
    sample = module._sample

    def second_writer_meanwhile(*args, **kwargs):  # another generate of the same output starts mid-run
        options = json.loads(manifest_path(out).read_text())["options"]
        try:
            GenerateOutput(out, options, source=None).close()
            seen.append("opened")
        except InputError as e:
            seen.append(str(e))
        return sample(*args, **kwargs)

    monkeypatch.setattr(module, "_sample", second_writer_meanwhile)
    module.generate(["Say hi"], model=tiny, out=out, samples=1, max_new_tokens=3, progress=False)
    assert seen == [f"{out} is being written by another process; wait for it to finish, or use another out"]

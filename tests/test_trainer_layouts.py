"""Checkpoint folders as verl and OpenRLHF leave them: the Hugging Face exports are found (by sweep and by locus),
and the trainers' own pickled checkpoints are refused with the exact command that exports them.

Each fixture is the tiny model saved in the trainer's layout; the pickled shards are a few bytes of garbage, so a
test would fail loudly if anything tried to unpickle them.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from reasongraph.core.errors import InputError
from reasongraph.train.checkpoints import find_checkpoints
from reasongraph.train.sweep import sweep
from reasongraph.train.trainer_layouts import checkpoint_folders, model_folder

GARBAGE = b"not a pickle"


def _save(folder: Path, tiny, weights: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if weights:
        tiny.model.save_pretrained(folder)
    else:
        tiny.model.config.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def verl(tmp_path_factory, tiny):
    """checkpoints/proj/exp with global_step_10 and _20 merged (actor/huggingface holds the model) beside the FSDP
    shards, and a run whose global_step_30 is not merged (config and tokenizer only, as verl saves them)."""
    root = tmp_path_factory.mktemp("verl")
    for step in (10, 20):
        actor = root / "merged" / f"global_step_{step}" / "actor"
        _save(actor / "huggingface", tiny)
        (actor / "model_world_size_2_rank_0.pt").write_bytes(GARBAGE)
    (root / "merged" / "latest_checkpointed_iteration.txt").write_text("20")
    actor = root / "native" / "global_step_30" / "actor"
    _save(actor / "huggingface", tiny, weights=False)
    for rank in (0, 1):
        (actor / f"model_world_size_2_rank_{rank}.pt").write_bytes(GARBAGE)
    return root


@pytest.fixture(scope="module")
def openrlhf(tmp_path_factory, tiny):
    """ckpt_path with global_step3_hf and global_step6_hf (--save_hf_ckpt) beside DeepSpeed's _actor/, and a
    ckpt_path with the DeepSpeed checkpoints only."""
    root = tmp_path_factory.mktemp("openrlhf")
    for ckpt, hf in (("with_hf", True), ("ds_only", False)):
        for step in (3, 6):
            tag = root / ckpt / "_actor" / f"global_step{step}"
            tag.mkdir(parents=True)
            (tag / "mp_rank_00_model_states.pt").write_bytes(GARBAGE)
            if hf:
                _save(root / ckpt / f"global_step{step}_hf", tiny)
        (root / ckpt / "_actor" / "latest").write_text("global_step6")
    return root


def test_verl_merged_checkpoints_are_found_in_step_order(verl):
    found = find_checkpoints([verl / "merged"])
    assert [c.step for c in found] == [10, 20]
    assert all(c.path.name == "huggingface" and c.path.parent.name == "actor" for c in found)
    assert model_folder(verl / "merged" / "global_step_20") == verl / "merged" / "global_step_20" / "actor" / \
        "huggingface"
    assert [c.step for c in find_checkpoints([verl / "merged" / "global_step_10" / "actor" / "huggingface"])] == [10]


def test_verl_shards_are_refused_with_the_merge_command(verl):
    actor = verl / "native" / "global_step_30" / "actor"
    command = (f"python -m verl.model_merger merge --backend fsdp --local_dir {actor} "
               f"--target_dir {actor / 'huggingface'}")
    for path in (verl / "native", verl / "native" / "global_step_30", actor, actor / "huggingface"):
        with pytest.raises(InputError, match="pickled shards, which reasongraph never loads") as e:
            find_checkpoints([path])
        assert command in str(e.value)


def test_openrlhf_hf_checkpoints_are_found_and_deepspeed_ones_refused(openrlhf):
    found = find_checkpoints([openrlhf / "with_hf"])
    assert [(c.step, c.path.name) for c in found] == [(3, "global_step3_hf"), (6, "global_step6_hf")]
    ds = openrlhf / "ds_only" / "_actor"
    for path in (openrlhf / "ds_only", ds):
        with pytest.raises(InputError, match="pickled shards") as e:
            checkpoint_folders(path)
        assert (f"python {ds / 'zero_to_fp32.py'} {ds} {openrlhf / 'ds_only' / 'global_step6_hf'} -t global_step6 "
                "--safe_serialization") in str(e.value)
    with pytest.raises(InputError, match=re.escape(f"-t global_step3")):
        model_folder(ds / "global_step3")


def test_sweep_runs_over_a_verl_run(verl, tmp_path):
    result = sweep([verl / "merged"], ["What is 1 + 1?"], samples=2, max_new_tokens=8, segment="window:4",
                   window=4, stride=2, n_boot=50)
    assert [r["step"] for r in result.rows] == [10, 20]
    assert result.rows[0]["H_mean"] == pytest.approx(result.rows[1]["H_mean"])  # the same weights at both steps


def test_locus_reads_checkpoint_folders_of_both_trainers(verl, openrlhf):
    from reasongraph.train.locus.locus import locus

    result = locus(str(verl / "merged" / "global_step_10"), str(openrlhf / "with_hf" / "global_step6_hf"),
                   ["We add 2 and 2.\nSo 4."], n_boot=20)
    assert result.scope()["summary"]["drop"] == pytest.approx(0.0, abs=1e-6)  # both are the tiny model
    with pytest.raises(InputError, match="verl.model_merger merge"):
        locus(str(verl / "native" / "global_step_30"), str(verl / "merged"), ["text"])

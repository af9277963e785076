"""LoRA adapters as model specs (``BASE+ADAPTER_DIR``): merged outputs equal peft's, the identity follows the
tensors and not the folder, every bad spec is one clear error, and the shipped GRPO adapter changes SmolLM2."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import reasongraph as rg
from reasongraph.models.adapter_identity import adapter_sha256, canonical_config
from reasongraph.cli.app import main as cli_main
from reasongraph.core.errors import InputError, ModelNotAvailableError
from reasongraph.models.sources import check_available, model_name

pytest.importorskip("peft", reason="the peft extra is not installed")

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "fixtures" / "smollm2-grpo-lora"
TEXT = "Ann has 12 apples, buys 7 more and gives away 5.\n12 + 7 = 19\n19 - 5 = 14\nAnswer: 14"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _lora(folder: Path, *, seed: int = 0, hidden_size: int = 64) -> Path:
    """A rank-4 LoRA over the tiny model, seeded, with non-zero B (peft's init_lora_weights=False), saved."""
    import torch
    from peft import LoraConfig, get_peft_model

    base = rg.tiny_random_model(seed=0, hidden_size=hidden_size, device="cpu", dtype="float32")
    torch.manual_seed(seed)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, init_lora_weights=False, task_type="CAUSAL_LM")
    get_peft_model(base.model, config).save_pretrained(folder)
    return folder


def _logits(model, tokenizer, text: str = TEXT) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(**tokenizer(text, return_tensors="pt")).logits[0].double().numpy()


@pytest.fixture(scope="module")
def lora(tmp_path_factory) -> Path:
    return _lora(tmp_path_factory.mktemp("adapters") / "my-lora")


def test_an_adapter_spec_gives_peft_s_own_merged_model(lora):
    from peft import PeftModel

    lm = rg.load_model(f"tiny-random+{lora}", device="cpu", dtype="float32")
    base = rg.tiny_random_model(seed=0, device="cpu", dtype="float32")
    reference = PeftModel.from_pretrained(rg.tiny_random_model(seed=0, device="cpu", dtype="float32").model,
                                          lora).merge_and_unload()
    ours, theirs, plain = (_logits(m, lm.tokenizer) for m in (lm.model, reference, base.model))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
    assert np.abs(ours - plain).max() > 1e-2  # the adapter changes the outputs
    assert not any("lora" in name for name, _ in lm.model.named_parameters())  # merged: a plain model again
    sha = adapter_sha256(lora)
    assert lm.name == model_name(f"tiny-random+{lora}") == f"tiny-random-llama-0+my-lora@{sha[:8]}"
    assert lm.identity()["name"] == "tiny-random-llama-0" and lm.identity()["adapters"] == [sha]
    assert "adapters" not in base.identity()  # plain models keep the identity they had
    check_available(f"tiny-random+{lora}")


def test_the_identity_follows_the_tensors_not_the_folder(lora, tmp_path):
    from safetensors.torch import load_file, save_file

    moved = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(lora, moved)
    config = json.loads((moved / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "/some/other/place"  # path-like fields are left out
    config["target_modules"] = list(reversed(config["target_modules"]))  # peft saves a set: its order is noise
    (moved / "adapter_config.json").write_text(json.dumps(config))
    assert adapter_sha256(moved) == adapter_sha256(lora)
    assert canonical_config(config) == canonical_config(json.loads((lora / "adapter_config.json").read_text()))
    a = rg.load_model(f"tiny-random+{lora}", device="cpu", dtype="float32")
    b = rg.load_model(f"tiny-random+{moved}", device="cpu", dtype="float32")
    assert a.identity() == b.identity() and b.name.startswith("tiny-random-llama-0+renamed@")

    tensors = load_file(moved / "adapter_model.safetensors")
    name = sorted(tensors)[0]
    tensors[name][0, 0] += 1e-3  # one number of one tensor
    save_file(tensors, moved / "adapter_model.safetensors", metadata={"format": "pt"})
    changed = rg.load_model(f"tiny-random+{moved}", device="cpu", dtype="float32")
    assert adapter_sha256(moved) != adapter_sha256(lora)
    assert changed.identity()["adapters"] != a.identity()["adapters"] and changed.name != b.name

    config["lora_alpha"] = 16  # the config is part of the identity too
    (moved / "adapter_config.json").write_text(json.dumps(config))
    assert adapter_sha256(moved) != adapter_sha256(lora)


def test_a_merged_checkpoint_folder_is_a_plain_folder_spec(lora, tmp_path):
    lm = rg.load_model(f"tiny-random+{lora}", device="cpu", dtype="float32")
    folder = tmp_path / "merged+checkpoint"  # a '+' in a path that exists is no adapter spec
    lm.model.save_pretrained(folder)
    lm.tokenizer.save_pretrained(folder)
    again = rg.load_model(folder, device="cpu", dtype="float32")
    assert again.name == model_name(folder) == "merged+checkpoint" and not again.adapters
    np.testing.assert_allclose(_logits(again.model, again.tokenizer), _logits(lm.model, lm.tokenizer), atol=1e-6)


def _bad(lora: Path, tmp: Path) -> dict[str, tuple[str, str]]:
    """{case: (spec, what the one error line must say)}."""
    (tmp / "empty").mkdir()
    (tmp / "file.txt").write_text("x")
    pickled = tmp / "pickled"
    pickled.mkdir()
    shutil.copy(lora / "adapter_config.json", pickled)
    (pickled / "adapter_model.bin").write_bytes(b"not read")
    broken = tmp / "broken"
    shutil.copytree(lora, broken)
    (broken / "adapter_config.json").write_text("{not json")
    not_safetensors = tmp / "not-safetensors"
    shutil.copytree(lora, not_safetensors)
    (not_safetensors / "adapter_model.safetensors").write_bytes(b"\x01\x00")
    wider = _lora(tmp / "wider", hidden_size=32)
    return {
        "missing": (f"tiny-random+{tmp / 'no-such-adapter'}", "does not exist"),
        "a file": (f"tiny-random+{tmp / 'file.txt'}", "is a file"),
        "no config": (f"tiny-random+{tmp / 'empty'}", "holds no adapter_config.json"),
        "plus inside a path": (f"{tmp / 'a+b'}/model", "does not exist"),
        "no base": (f"+{lora}", "no base model"),
        "pickle only": (f"tiny-random+{pickled}", "a pickle"),
        "broken config": (f"tiny-random+{broken}", "cannot read"),
        "not safetensors": (f"tiny-random+{not_safetensors}", "not a safetensors file"),
        "another base": (f"tiny-random+{wider}", "does not fit the base model"),
        "missing base": (f"{tmp / 'no-such-model'}+{lora}", "no such path"),
    }


def test_every_bad_spec_is_one_clear_error(lora, tmp_path, capsys):
    for case, (spec, says) in _bad(lora, tmp_path).items():
        with pytest.raises(ModelNotAvailableError, match=says) as err:
            rg.load_model(spec, device="cpu", dtype="float32")
        assert spec in str(err.value), (case, str(err.value))
        if case != "another base":  # the fit is only known once the base is loaded
            with pytest.raises(InputError, match=says):
                check_available(spec)
        code = cli_main(["analyze", str(REPO / "examples" / "trace.txt"), "--model", spec])
        err_lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err_lines) == 1 and says in err_lines[0], (case, code, err_lines)


def test_peft_missing_says_how_to_install_it(lora, monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)
    for call in (check_available, rg.load_model):
        with pytest.raises(ModelNotAvailableError, match=r"needs peft: pip install 'reasongraph\[peft\]'"):
            call(f"tiny-random+{lora}")
    assert model_name(f"tiny-random+{lora}").startswith("tiny-random-llama-0+my-lora@")  # names need no peft


@pytest.mark.model
def test_the_shipped_grpo_adapter_changes_smollm2(smollm2):
    from scipy.special import log_softmax

    spec = f"smollm2-135m+{SHIPPED}"
    recipe = json.loads((SHIPPED / "recipe.json").read_text())
    assert adapter_sha256(SHIPPED) == recipe["adapter_sha256"]
    assert (SHIPPED / "adapter_model.safetensors").stat().st_size <= 20e6
    policy = rg.load_model(spec, device="cpu", dtype="float32")
    assert policy.name == model_name(spec) == f"SmolLM2-135M-Instruct+smollm2-grpo-lora@{recipe['adapter_sha256'][:8]}"
    log_p = [log_softmax(_logits(m.model, m.tokenizer), axis=-1) for m in (smollm2, policy)]
    h_base, h_policy = (float(-(np.exp(lp) * lp).sum(-1).mean()) for lp in log_p)
    assert abs(h_policy - h_base) > 0.05, (h_base, h_policy)

"""``reasongraph locus`` on the real default model (SmolLM2-135M): the readout-only ground truth with its numbers,
and the non-monotone logit lens that science.md describes."""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from reasongraph.train.locus.locus import locus
from reasongraph.models.loaded import LoadedModel

pytestmark = pytest.mark.model
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "skythought_math500_24x3.jsonl"
TEXTS = ["We need 3 + 4 * 2. Multiplication first: 4 * 2 = 8.\nThen 3 + 8 = 11.\nSo the answer is 11.",
         "Let x be the number of apples. Then 2x + 3 = 11, so 2x = 8.\nWait, check: 2 * 4 + 3 = 11. Yes, x = 4."]


def test_readout_only_change_on_smollm2(smollm2):
    import torch

    model = copy.deepcopy(smollm2.model)
    with torch.no_grad():
        model.model.norm.weight.mul_(1 / 0.6)  # the final norm, not the tied embedding (the trunk's input)
    b = LoadedModel(model=model, tokenizer=smollm2.tokenizer, name="SmolLM2 at T=0.6", device=smollm2.device,
                    dtype=smollm2.dtype)
    s = locus(smollm2, b, TEXTS, layer_stride=10, patch_stride=30, n_boot=100).scope()
    assert s["layers"]["layer"] == [0, 10, 20, 30] and s["splits"]["layer"] == [0, 30]
    assert s["summary"]["head_only_share"] == pytest.approx(1.0, abs=1e-6)
    assert s["layers"]["cka"] == pytest.approx([1.0] * 4, abs=1e-9)
    assert s["layers"]["procrustes"] == pytest.approx([0.0] * 4, abs=1e-9)
    assert s["summary"]["t_star"] == pytest.approx(0.6, abs=1e-3)
    assert s["summary"]["t_share_explained"] == pytest.approx(1.0, abs=1e-4)
    assert s["layers"]["lens_ratio_a_head"] == pytest.approx([1.0] * 4, abs=1e-9)
    assert s["summary"]["drop"] > 0.1


def test_smollm2s_own_logit_lens_is_not_monotone_in_depth(smollm2, tmp_path):
    """science.md: about 1.13 nats at layer 1, 0.56 at 23 and 1.05 at the last, on 3 SkyThought texts."""
    from reasongraph.trace.extraction.encode import encode
    from reasongraph.train.locus.model_passes import lens, make_plan, own_pass
    from reasongraph.train.locus.layer_store import LayerStore

    records = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()[:3]]
    enc = [encode(smollm2, r["trace"], None) for r in records]
    plan = make_plan([len(e.input_ids) for e in enc], [e.prompt_len for e in enc], smollm2.num_layers,
                     layer_stride=1, patch_stride=smollm2.num_layers, max_tokens=512, seed=0, temperature=1.0)
    plan = dataclasses.replace(plan, lens_layers=(1, 23, 30))
    store = LayerStore(tmp_path)
    own_pass(smollm2, [e.input_ids for e in enc], plan, store, "A")
    h1, h23, h30 = lens(smollm2, store, "A", plan).mean(axis=1)
    assert 0.9 < h1 < 1.35 and 0.4 < h23 < 0.7 and 0.85 < h30 < 1.3
    assert h23 < 0.65 * min(h1, h30)
    assert np.isfinite([h1, h23, h30]).all()

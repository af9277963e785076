"""Shared prompt prefixes in teacher-forced extraction: a prompt several traces answer runs once, and the traces
come out as unshared extraction gives them (entropies within 1e-4 nats, step vectors at cosine >= 0.9999, the
same tokens and steps), on the tiny model through every batching path and on the default model on real text."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reasongraph.trace.extraction.teacher_forced import extract_batch
from reasongraph.trace.extraction.prefix_sharing import shared_prompt_groups

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "skythought_math500_24x3.jsonl"


def test_groups_are_the_prompts_several_items_share():
    prompts = [[1, 2, 3], [4], [1, 2, 3], [7, 8], [4], [7, 8], [1, 2, 3], []]
    assert shared_prompt_groups(prompts) == [[0, 2, 6], [3, 5]]  # [4] is one token: nothing to cache before it
    assert shared_prompt_groups(prompts, min_rows=3) == [[0, 2, 6]]
    assert shared_prompt_groups([[1, 2], [3, 4]]) == []


def _assert_same(shared, unshared, atol=1e-4):
    for a, b in zip(shared, unshared):
        assert np.array_equal(a.input_ids, b.input_ids) and a.prompt_len == b.prompt_len
        assert [s.text for s in a.steps] == [s.text for s in b.steps] and a.tokens == b.tokens
        np.testing.assert_allclose(a.entropy, b.entropy, atol=atol, rtol=0)
        np.testing.assert_allclose(a.logprob, b.logprob, atol=10 * atol, rtol=1e-4)
        for k in a.layers:  # float32 sums in another order: relative to the whole matrix, not element by element
            assert np.linalg.norm(a.hidden[k] - b.hidden[k]) <= 1e-5 * np.linalg.norm(b.hidden[k]) + 1e-12
        if a.n_steps:
            x, y = a.step_vectors().astype(np.float64), b.step_vectors().astype(np.float64)
            assert ((x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))).min() >= 0.9999


@pytest.mark.parametrize("batch_size, batch_tokens", [(None, None), (1, None), (2, 64)])
def test_shared_equals_unshared_on_the_tiny_model(tiny, batch_size, batch_tokens):
    """Three traces of one prompt, two of another, one unique prompt, one without a prompt and an empty response,
    in one call, split into passes every way the batching allows."""
    texts = ["step one\nstep two is longer\nthree", "a b c d\ne f g", "x\ny", "only one line here",
             "q w e r t y\nu i o", "", "the other prompt's answer\nin two lines"]
    prompts = ["Solve this problem please.", "Solve this problem please.", None, "A unique prompt",
               "Solve this problem please.", "Another prompt", "Another prompt"]
    kw = {"model": tiny, "layers": (0, 1, 2), "segment": "newline", "batch_size": batch_size,
          "batch_tokens": batch_tokens}
    shared = extract_batch(texts, prompts, share_prefix=True, **kw)
    _assert_same(shared, extract_batch(texts, prompts, share_prefix=False, **kw), atol=1e-5)
    assert shared[5].n_tokens == 0 and shared[5].n_steps == 0


@pytest.mark.model
def test_shared_equals_unshared_on_real_text(smollm2):
    """The temperature example's shape: chat prompts of MATH500 problems, several answers each (the fixture's
    three models' traces, cut to their first 12 lines), in one chunk of 16."""
    records = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()[:16]]
    texts = ["\n".join(r["trace"].splitlines()[:12]) for r in records]
    prompts = [r["problem"] for r in records]
    assert len(set(prompts)) < len(prompts)
    kw = {"model": smollm2, "layers": (0.9, 0.5), "prompt_format": "chat", "temperature": 0.7}
    _assert_same(extract_batch(texts, prompts, share_prefix=True, **kw),
                 extract_batch(texts, prompts, share_prefix=False, **kw))

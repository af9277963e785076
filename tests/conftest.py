"""Shared fixtures: the real default model (SmolLM2-135M), a tiny random model, and the shared real traces."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED_TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct with its real (de-quantized Q4_1) weights, float32 on CPU."""
    import reasongraph as rg

    return rg.load_model("smollm2-135m", device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def tiny():
    """A 2-block random Llama (hidden 64) with the real SmolLM2 tokenizer: fast, meaningless numbers."""
    import reasongraph as rg

    return rg.tiny_random_model(seed=0, device="cpu")


def shared_records(name: str, n: int | None = None) -> list[dict]:
    """Records of ../shared/traces/<name>; skips the test with a reason when the folder is absent."""
    path = SHARED_TRACES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared real traces live beside the checkout, not in the package)")
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return records[:n] if n else records

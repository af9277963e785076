"""Hooks into other libraries' training loops: :class:`ExplorationCallback` for the Hugging Face Trainer and
every TRL trainer (GRPO, PPO, DPO, SFT...).

The callback's module imports transformers, so it is loaded only when the name is first used: ``import
reasongraph`` stays fast.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ExplorationCallback"]


def __getattr__(name: str) -> Any:
    if name == "ExplorationCallback":
        from reasongraph.integrations.trainer import ExplorationCallback

        return ExplorationCallback
    raise AttributeError(f"module 'reasongraph.integrations' has no attribute {name!r}")

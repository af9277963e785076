"""Text that is not valid Unicode: lone surrogates (undecodable bytes kept by ``errors="surrogateescape"``, or a
JSON ``\\ud800`` escape) cannot be written as UTF-8, so readers report them and pages replace them."""
from __future__ import annotations

import re
from typing import Any

__all__ = ["LONE_SURROGATE", "find_lone_surrogate", "has_lone_surrogate", "replace_lone_surrogates"]

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def find_lone_surrogate(text: str) -> re.Match | None:
    """The first lone surrogate of ``text`` (its ``.start()`` and ``.group()``), or None."""
    return LONE_SURROGATE.search(text)


def has_lone_surrogate(value: Any) -> bool:
    """A str holding a lone surrogate."""
    return isinstance(value, str) and LONE_SURROGATE.search(value) is not None


def replace_lone_surrogates(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, the replacement character."""
    return LONE_SURROGATE.sub("\ufffd", text)

"""Lazy package namespaces: a package's public names, each imported from its module on first use.

A package's ``__init__.py`` only lists where each of its names lives; nothing is imported until a name is used, so
``import reasongraph`` and ``import reasongraph.<package>`` stay instant (torch, transformers and scikit-learn load
with the module that needs them). A package never exports a name that is also one of its submodules: importing
that submodule binds its name in the package, which would hide the exported value.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``, resolving ``exports`` ({name: module})."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__

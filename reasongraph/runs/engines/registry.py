"""The engines by name: ``engine="local"`` or ``"ray"`` (or any registered name) in score_dataset, or an
:class:`~reasongraph.runs.engines.protocol.Engine` object.

Entries are "module:attribute" strings until used, so naming the engines (the CLI's choices) imports no engine,
and Ray only when asked for. An entry is a factory: ``factory.connect(ConnectOptions) -> Engine``.
"""
from __future__ import annotations

import importlib
from typing import Any

from reasongraph.core.checks import check_choice, check_optional_int
from reasongraph.core.errors import InputError, opt
from reasongraph.runs.engines.protocol import Engine, ConnectOptions

__all__ = ["ENGINES", "engine_names", "open_engine", "register_engine"]

ENGINES: dict[str, Any] = {
    "local": "reasongraph.runs.engines.local:LocalEngine",
    "ray": "reasongraph.runs.engines.ray.engine:RayEngine",
}


def register_engine(name: str, factory: Any) -> None:
    """Make ``engine=name`` open ``factory.connect(ConnectOptions)`` (``factory``: an object, or a "module:attribute"
    string imported when the engine is first used)."""
    if not isinstance(name, str) or not name:
        raise InputError(f"{opt('engine')}: an engine's name must be a non-empty string, got {name!r}")
    ENGINES[name] = factory


def engine_names() -> tuple[str, ...]:
    return tuple(ENGINES)


def open_engine(engine: str | Engine, options: ConnectOptions) -> Engine:
    """The engine named ``engine`` (registered), connected with ``options``; an Engine object is taken as it is."""
    if not isinstance(engine, str):
        if not isinstance(engine, Engine):
            raise InputError(f"{opt('engine')}: expected an engine name ({', '.join(ENGINES)}) or an object with "
                             f"name, workers, plan, check, pass1, pass2 and close, got {type(engine).__name__}")
        return engine
    check_choice("engine", engine, tuple(ENGINES))
    check_optional_int("workers", options.workers, low=1)
    return _factory(engine).connect(options)


def _factory(name: str) -> Any:
    entry = ENGINES[name]
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module), attribute)
    return entry

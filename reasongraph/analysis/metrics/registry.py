"""The registry of per-trace metric families: the built-in ones in row order, and any added with
:func:`register_metric`.

A row's metrics are the families' outputs in registry order (:func:`compute_metrics`); the layer columns repeat their
``per_layer`` keys for each further layer; the catalogue lists their entries in the same order. A registered family
enters a scoring run's manifest by name (:func:`extra_metric_names`), so a run folder resumes only with the same
metrics. Registration is per process: on the Ray engine the workers import the module that registered the family
(:func:`extra_metric_modules`), so it must live in an importable module, not in ``__main__`` or a notebook.
"""
from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from typing import TYPE_CHECKING

from reasongraph.analysis.metrics import (alignment, concentration, forking, hidden, markers, size, token_entropy,
                                          topology, walk)
from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.core.errors import InputError
from reasongraph.core.metric import Metric

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext

__all__ = ["BUILT_IN", "TraceMetrics", "catalogue_entries", "compute_metrics", "extra_metric_modules",
           "extra_metric_names", "import_metric_modules", "metric_families", "per_layer_keys", "register_metric",
           "registry_version", "unregister_metric"]

#: The built-in families, in the order rows list their keys.
BUILT_IN: tuple[TraceMetrics, ...] = (size.FAMILY, walk.FAMILY, topology.FAMILY, concentration.FAMILY,
                                      token_entropy.FAMILY, forking.FAMILY, markers.FAMILY, hidden.FAMILY,
                                      alignment.FAMILY)
_BUILT_IN_NAMES = frozenset(f.name for f in BUILT_IN)

_families: list[TraceMetrics] = list(BUILT_IN)
_version = 0


def register_metric(family: TraceMetrics, *, after: str | None = None) -> TraceMetrics:
    """Add ``family`` to every analysis from now on: its keys follow those of the family named ``after`` (default:
    the last one). Registering a name again replaces that family (in its place unless ``after`` is given).

    Raises
    ------
    InputError : not a TraceMetrics, the name of a built-in family, an unknown ``after``, or an entry key that
        another family documents already.
    """
    global _version
    if not isinstance(family, TraceMetrics):
        raise InputError(f"register_metric: expected a TraceMetrics, got {type(family).__name__}")
    if family.name in _BUILT_IN_NAMES:
        raise InputError(f"register_metric: {family.name!r} is a built-in family; choose another name")
    others = [f for f in _families if f.name != family.name]
    taken = {k for f in others for k in f.keys} & set(family.keys)
    if taken:
        raise InputError(f"register_metric: {family.name!r} documents keys another family has: {sorted(taken)}")
    names = [f.name for f in others]
    if after is not None and after not in names:
        raise InputError(f"register_metric: after={after!r} names no family (there are {', '.join(names)})")
    old = next((i for i, f in enumerate(_families) if f.name == family.name), None)
    if after is None and old is not None:
        _families[old] = family
    else:
        at = len(others) if after is None else names.index(after) + 1
        _families[:] = [*others[:at], family, *others[at:]]
    _version += 1
    return family


def unregister_metric(name: str) -> None:
    """Remove the registered family ``name`` (a no-op when there is none; built-in families stay)."""
    global _version
    if name in _BUILT_IN_NAMES:
        raise InputError(f"unregister_metric: {name!r} is a built-in family and cannot be removed")
    kept = [f for f in _families if f.name != name]
    if len(kept) != len(_families):
        _families[:] = kept
        _version += 1


def metric_families() -> tuple[TraceMetrics, ...]:
    """Every family, built-in and registered, in row order."""
    return tuple(_families)


def registry_version() -> int:
    """A number that changes whenever a family is registered or removed (what caches of the catalogue key on)."""
    return _version


def extra_metric_names() -> list[str]:
    """The registered (non-built-in) families' names in row order: a scoring run's manifest lists them as
    ``"metrics"`` when there are any."""
    return [f.name for f in _extra()]


def extra_metric_modules() -> list[str]:
    """The modules that define the registered families' ``compute`` functions: what a Ray worker imports so that
    its rows have the same metrics as the driver's (so a family is defined and registered in one module, at its
    import).

    Raises
    ------
    InputError : a registered family computed in ``__main__`` (a script or a notebook), which no worker can import.
    """
    modules = {f.name: getattr(f.compute, "__module__", None) for f in _extra()}
    bad = [name for name, module in modules.items() if module in (None, "__main__")]
    if bad:
        raise InputError(f"the metric families {bad} are defined in __main__: on Ray, workers import each "
                         "registered metric's module, so define it in an importable module")
    return list(dict.fromkeys(modules.values()))


def _extra() -> list[TraceMetrics]:
    return [f for f in _families if f.name not in _BUILT_IN_NAMES]


def import_metric_modules(modules: Iterable[str]) -> None:
    """Import the modules :func:`extra_metric_modules` named in the driver (in a Ray worker), so that the
    families they register at import are registered here too."""
    for module in modules:
        import_module(module)


def compute_metrics(ctx: TraceContext, *, families: Iterable[TraceMetrics] | None = None) -> dict:
    """The metrics of one trace: each family's output in order (default: every registered family).

    Raises
    ------
    InputError : a family returns a key that an earlier family returned (it would overwrite that number).
    """
    out: dict = {}
    for family in _families if families is None else families:
        values = family.compute(ctx)
        clash = out.keys() & values.keys()
        if clash:
            raise InputError(f"the metric family {family.name!r} returns keys another family returned: "
                             f"{sorted(clash)}")
        out.update(values)
    return out


def per_layer_keys(families: Iterable[TraceMetrics] | None = None) -> tuple[str, ...]:
    """The keys the layer columns repeat for each further layer, in row order."""
    return tuple(k for f in (_families if families is None else families) for k in f.per_layer)


def catalogue_entries() -> tuple[Metric, ...]:
    """The catalogue entries of every family, in row order of the families."""
    return tuple(m for f in _families for m in f.entries)

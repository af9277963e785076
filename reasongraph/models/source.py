"""What a model source is: a spec the user wrote, classified once, that knows its model's name without loading it,
checks that it can be loaded here, and loads it. The registry that picks a source for a spec is
:mod:`reasongraph.models.sources`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from reasongraph.core.errors import ModelNotAvailableError

if TYPE_CHECKING:
    from reasongraph.models.loaded import LoadedModel

__all__ = ["ModelSource", "not_available"]


class ModelSource:
    """One kind of model spec. Subclasses set :attr:`name` (a property or attribute) and implement :meth:`load`;
    :meth:`check` defaults to nothing to check.

    ``name`` is :attr:`LoadedModel.name` once loaded, known without reading weights: it goes into run identities
    and rows (``scored_by``), so it must not depend on where or when the spec is resolved.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec

    name: str = ""

    def check(self) -> None:
        """Raise ModelNotAvailableError when the model cannot be loaded here; read no weights."""

    def load(self, *, device: Any = None, dtype: Any = None) -> LoadedModel:
        """The loaded model (eval mode, no gradients) with its tokenizer."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


def not_available(spec: str, *, why: str = "cannot be loaded here") -> NoReturn:
    """Raise the one clear error of a spec whose model is missing."""
    raise ModelNotAvailableError(f"model {spec!r}: {why}")

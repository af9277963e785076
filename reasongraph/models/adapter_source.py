"""The model source of ``BASE+ADAPTER_DIR``: any base spec with a peft (LoRA) adapter folder merged into it
(:mod:`reasongraph.models.adapters`)."""
from __future__ import annotations

from typing import Any, Callable

from reasongraph.core.errors import ModelNotAvailableError
from reasongraph.models.adapter_identity import adapter_label, adapter_sha256
from reasongraph.models.adapters import check_adapter, merge_adapter, split_adapter_spec
from reasongraph.models.loaded import LoadedModel
from reasongraph.models.source import ModelSource

__all__ = ["AdapterSource"]


class AdapterSource(ModelSource):
    """The base (resolved as any spec, an adapter spec included) with the adapter merged; named
    ``<base name>+<adapter folder>@<8 hex digits of the adapter's identity>``."""

    def __init__(self, spec: str, *, resolve: Callable[[str], ModelSource]) -> None:
        super().__init__(spec)
        split = split_adapter_spec(spec)
        if split is None:
            raise ModelNotAvailableError(f"model {spec!r}: not a BASE+ADAPTER_DIR spec")
        self.base_spec, self.folder = split
        self._resolve = resolve

    @staticmethod
    def matches(spec: str) -> bool:
        return split_adapter_spec(spec) is not None

    @property
    def name(self) -> str:
        return f"{self._resolve(self.base_spec).name}+{adapter_label(self.folder, self.spec)}"

    def check(self) -> None:
        check_adapter(self.folder, self.spec)
        adapter_sha256(self.folder, spec=self.spec)  # the weights file is a readable safetensors file
        self._base(lambda base: base.check())

    def load(self, *, device: Any = None, dtype: Any = None) -> LoadedModel:
        sha = adapter_sha256(self.folder, spec=self.spec)  # a readable adapter, checked before the base's weights load
        check_adapter(self.folder, self.spec)
        lm = self._base(lambda base: base.load(device=device, dtype=dtype))
        model = merge_adapter(lm.model, self.folder, self.spec)
        name = f"{lm.name}+{adapter_label(self.folder, self.spec)}"
        return LoadedModel(model=model, tokenizer=lm.tokenizer, name=name, device=lm.device, dtype=lm.dtype,
                           adapters=(*lm.adapters, sha), base_name=lm.base_name or lm.name)

    def _base(self, use: Callable[[ModelSource], Any]) -> Any:
        """``use(base source)``, its ModelNotAvailableError naming the whole ``BASE+ADAPTER_DIR`` spec."""
        try:
            return use(self._resolve(self.base_spec))
        except ModelNotAvailableError as e:
            raise ModelNotAvailableError(f"model {self.spec!r}, its base: {e.template}") from None

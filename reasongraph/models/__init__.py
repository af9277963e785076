"""Layer 2: causal language models. Loading them (the offline default SmolLM2, GGUF files, model folders, hub ids,
any of these with a LoRA adapter), where they run, what identifies their outputs, token entropy streamed over
vocabulary tiles, and hooks on their blocks.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "ADAPTER_CONFIG": "reasongraph.models.adapters",
    "adapter_label": "reasongraph.models.adapter_identity",
    "adapter_sha256": "reasongraph.models.adapter_identity",
    "ADAPTER_WEIGHTS": "reasongraph.models.adapters",
    "cache_dir": "reasongraph.models.smollm2",
    "capture_layers": "reasongraph.models.hooks",
    "check_adapter": "reasongraph.models.adapters",
    "check_available": "reasongraph.models.sources",
    "check_head": "reasongraph.models.head_entropy",
    "default_gguf_path": "reasongraph.models.smollm2",
    "entropy_at_temperatures": "reasongraph.models.head_entropy",
    "entropy_tensors": "reasongraph.models.head_entropy",
    "load_model": "reasongraph.models.sources",
    "LoadedModel": "reasongraph.models.loaded",
    "load_folder": "reasongraph.models.pretrained",
    "merge_adapter": "reasongraph.models.adapters",
    "ModelSource": "reasongraph.models.source",
    "not_available": "reasongraph.models.source",
    "register_source": "reasongraph.models.sources",
    "resolve": "reasongraph.models.sources",
    "model_name": "reasongraph.models.sources",
    "resolve_device_dtype": "reasongraph.models.device",
    "split_adapter_spec": "reasongraph.models.adapters",
    "tile_logits": "reasongraph.models.head_entropy",
    "tiny_random_model": "reasongraph.models.tiny",
    "unregister_source": "reasongraph.models.sources",
    "token_entropy": "reasongraph.models.head_entropy",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)

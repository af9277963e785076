"""On-policy sampling: N samples of each prompt from the model that will score them, with its own token entropy."""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "entropy_dir": "reasongraph.runs.generate.output",
    "load_policy_entropy": "reasongraph.runs.generate.shards",
    "load_token_ids": "reasongraph.runs.generate.shards",
    "manifest_path": "reasongraph.runs.generate.output",
    "sample_id": "reasongraph.runs.generate.output",
    "SampleOptions": "reasongraph.runs.generate.options",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)

"""Command-line options shared by the commands that run a model (``analyze`` and ``score``)."""
from __future__ import annotations

import argparse


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --device, --dtype, --layer, --segment, --prompt-format, --temperature, --truncate."""
    g = parser.add_argument_group("model and extraction")
    g.add_argument("--model", default="smollm2-135m",
                   help="smollm2-135m (default, offline), a .gguf file, a local model dir or a HF id")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    g.add_argument("--dtype", default=None, help="float32, bfloat16, float16 (default: fp32 on CPU, bf16 on CUDA)")
    g.add_argument("--layer", action="append", type=parse_layer, default=None,
                   help="hidden-state layer: an index (0 = embeddings, -1 = last) or a depth ratio such as 0.9 "
                        "(default 0.9); repeat to capture several, the first gives the step vectors")
    g.add_argument("--segment", default="newline",
                   help="step segmenter: newline (paper), sentence, paragraph, window:N, token")
    g.add_argument("--prompt-format", choices=("raw", "chat"), default="raw",
                   help="raw: prompt tokens then trace tokens; chat: the tokenizer's chat template")
    g.add_argument("--temperature", type=float, default=1.0, help="softmax temperature for entropies")
    g.add_argument("--truncate", action="store_true", help="keep what fits the context instead of failing")


def parse_layer(value: str) -> int | float:
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a layer is an int index or a float ratio, got {value!r}") from None


def extract_options(args: argparse.Namespace) -> dict:
    """The extraction keyword arguments named by the parsed options."""
    return {"layers": tuple(args.layer or (0.9,)), "segment": args.segment, "prompt_format": args.prompt_format,
            "temperature": args.temperature, "truncate": args.truncate}


def load_model_from_args(args: argparse.Namespace):
    from reasongraph.models import load_model

    return load_model(args.model, device=args.device, dtype=args.dtype)

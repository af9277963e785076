"""Command-line options shared between commands: model and extraction (``analyze``, ``score``), report embeds."""
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


def add_embed_option(parser: argparse.ArgumentParser) -> None:
    """--embed N: how many of the report's most cyclic traces to embed as interactive views."""
    parser.add_argument("--embed", type=_non_negative, default=3, metavar="N",
                        help="report: embed the N most cyclic traces as interactive views, rebuilt from the run's "
                             "trace cache (default 3; 0 lists them only)")


def _non_negative(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value!r}")
    return n


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

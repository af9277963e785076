"""Where and in which dtype a model runs: the defaults (CUDA when present, else the CPU) checked."""
from __future__ import annotations

from typing import Any

from reasongraph.core.errors import InputError, opt


DTYPES = ("float32", "bfloat16", "float16", "float64")


def resolve_device_dtype(device: Any = None, dtype: Any = None, *, here: bool = True) -> tuple[Any, Any]:
    """The torch device and dtype to load a model with, following transformers' conventions.

    ``device`` None or "auto": CUDA when available, else CPU; otherwise "cpu", "cuda", "cuda:N", "mps" or a
    ``torch.device``. ``dtype`` None or "auto": bfloat16 on CUDA, float32 elsewhere; otherwise a name in
    :data:`DTYPES` or a ``torch.dtype``. ``here=False``: the models load on other machines (a Ray cluster's
    workers), so this one need not have the device.

    Raises
    ------
    InputError : an unknown device or dtype, or a device this machine does not have.
    """
    import torch

    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"{opt('device')} must be auto, cpu, cuda, cuda:N or mps; got {device!r}") from None
    if here and device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"{opt('device')} {device}: this machine has no CUDA device (use cpu or auto)")
    if here and device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise InputError(f"{opt('device')} {device}: this machine has {torch.cuda.device_count()} CUDA devices")
    if dtype is None or dtype == "auto":
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    elif isinstance(dtype, str):
        if dtype not in DTYPES:
            raise InputError(f"{opt('dtype')} must be auto or one of {', '.join(DTYPES)}; got {dtype!r}")
        dtype = getattr(torch, dtype)
    elif not isinstance(dtype, torch.dtype):
        raise InputError(f"{opt('dtype')} must be a dtype name or a torch.dtype, got {dtype!r}")
    return device, dtype

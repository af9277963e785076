"""Checks of a Ray cluster before any work: reachable, sharing the trace cache, able to load each model."""
from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.runs.scoring.extract_here import load_checked
from reasongraph.runs.scoring.model_plan import ModelPlan

CONNECT_TIMEOUT_S = 30  # an unreachable --ray-address fails within this


def check_reachable(address: str) -> None:
    """Fail within ``CONNECT_TIMEOUT_S`` when nothing listens at a ``[ray://]host:port`` address (ray.init
    itself would retry for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"{opt('ray_address', address)} must be host:port, ray://host:port or auto")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S / 2).close()
    except OSError as e:
        raise InputError(f"{opt('ray_address', address)}: no Ray cluster answers there "
                         f"({e.strerror or type(e).__name__})") from None


# ---------------------------------------------------------------------- what runs on the workers
def probe_cache(directory: str, marker: str, token: str) -> str | None:
    """On one node: None when ``directory`` holds the driver's marker and takes a new file, else the problem."""
    path = Path(directory) / marker
    try:
        if path.read_text() != token:
            raise FileNotFoundError
    except OSError:
        return f"do not see {directory} as the driver does (the driver's test file is not there)"
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        return f"cannot write in {directory} ({e.strerror})"
    return None


def probe_model(plan: ModelPlan, unit: str, clusterer: Any) -> dict:
    """On a worker: the identity of ``unit``'s model, or the reason it cannot be scored."""
    try:
        lm = load_checked(plan, unit, clusterer=clusterer)
    except InputError as e:
        return {"error": str(e)}
    return {"identity": lm.identity()}

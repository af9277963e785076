"""The locus report: where two checkpoints' token entropy parts, from the plain values of ``locus.json``.

One page: per scope (all texts, then each group) the depth panel (the logit-lens ratio with each model's head and
with A's head, and the representation similarities, on one depth axis with the collapse locus marked), the
patching panel (the late share by split layer, the head-only share, the temperature-equivalent) and the text panel
(the drop by A's entropy percentile, the forking-token share and overlap, the onsets). ``locus.js`` draws it as
plain SVG; see :mod:`reasongraph.html.document` for how pages stay offline and safe.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reasongraph.core.checks import check_path_writable
from reasongraph.core.errors import InputError, opt
from reasongraph.html.document import render_view

__all__ = ["locus_html", "locus_payload", "write_locus_html"]

_SCOPE_KEYS = ("name", "n_texts", "n_tokens", "n_sampled", "summary", "layers", "splits", "temperature", "text")


def locus_payload(data: Mapping[str, Any], *, title: str | None = None) -> dict:
    """The view payload of a locus result (``LocusResult.as_dict()`` or a read ``locus.json``)."""
    if not isinstance(data, Mapping) or data.get("format") != "reasongraph.locus":
        raise InputError(f"{opt('data')} must be a locus result (locus.json), got {type(data).__name__}")
    options = dict(data.get("options") or {})
    return {"format": "reasongraph.view", "kind": "locus", "version": 1,
            "title": title or f"Where the entropy collapses: {_name(data, 'b')} against {_name(data, 'a')}",
            "a": {"name": _name(data, "a")}, "b": {"name": _name(data, "b")}, "options": options,
            "notes": list(data.get("notes") or []), "n_texts": data.get("n_texts"), "n_skipped": data.get("n_skipped"),
            "scopes": [{**{k: s.get(k) for k in _SCOPE_KEYS}, "options": options} for s in data.get("scopes", [])]}


def _name(data: Mapping[str, Any], role: str) -> str:
    return str((data.get(role) or {}).get("name", role.upper()))


def locus_html(data: Mapping[str, Any], *, title: str | None = None, full_page: bool = True,
               root_id: str | None = None) -> str:
    """The locus report as HTML (a full page, or a fragment for a notebook)."""
    payload = dict(data) if data.get("format") == "reasongraph.view" else locus_payload(data, title=title)
    return render_view("locus", payload, full_page=full_page, root_id=root_id)


def write_locus_html(data: Mapping[str, Any], path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`locus_html` to ``path`` (UTF-8; missing folders are created) and return the path."""
    check_path_writable("html", path)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(locus_html(data, title=title), encoding="utf-8")
    return path

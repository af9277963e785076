"""Assemble one self-contained HTML document (or notebook fragment) from a view payload.

Everything is inline: the stylesheet and scripts come from ``reasongraph/html/assets`` (read with
importlib.resources) and the data travels as JSON in a ``<script type="application/json">`` element, so the file
makes no network request and opens from ``file://``. Each view gets the scripts it needs (:data:`SCRIPTS`), joined
in dependency order into one script element: ``common.js`` (namespace, helpers, tooltip), ``graph.js`` (the
reasoning graph), ``text.js`` (token strip and curves), ``view.js`` (the trace view, ``renderTrace``), and for
the report ``collapse.js`` (the level-collapse figure), ``alignment.js`` (revisits and entropy spikes per group),
``layers.js`` (detection ratio by layer), ``diversity.js`` (several samples per prompt; each of these four needs
only ``common.js``) and ``report.js`` (``renderReport``, which embeds traces through ``renderTrace`` only); the
checkpoint-sweep page gets ``common.js``, ``collapse.js`` and ``checkpoints.js`` (``renderSweep``), and the locus
page ``common.js`` and ``locus.js`` (``renderLocus``).

Safety: the payload holds untrusted strings (trace text, prompt, ids, model and group names). In the JSON, ``<``,
``>`` and ``&`` are written as ``\\u003c``, ``\\u003e``, ``\\u0026``, so no string can close the script element or
open a comment; the scripts put data into the page only with ``textContent`` / ``createTextNode`` /
``setAttribute``. The only strings placed in HTML directly (the title) are escaped with :func:`html.escape`.
Each view lives under a root element with a unique id and all CSS is scoped to ``.rg-root``, so several views
can share one notebook or one report page.
"""
from __future__ import annotations

import html
import json
import re
import uuid
from functools import lru_cache
from importlib import resources
from typing import Any

from reasongraph.core.json_values import json_value
from reasongraph.core.text import replace_lone_surrogates

__all__ = ["ENTRIES", "SCRIPTS", "asset", "new_root_id", "render_view", "to_json"]

#: the scripts of each view, in dependency order (each file needs only the ones before it)
SCRIPTS = {
    "trace": ("common.js", "graph.js", "text.js", "view.js"),
    "report": ("common.js", "graph.js", "text.js", "view.js", "collapse.js", "alignment.js", "layers.js", "diversity.js",
               "report.js"),
    "sweep": ("common.js", "collapse.js", "checkpoints.js"),
    "locus": ("common.js", "locus.js"),
}
#: the function of window.ReasonGraph each view's bootstrap calls
ENTRIES = {"trace": "renderTrace", "report": "renderReport", "sweep": "renderSweep", "locus": "renderLocus"}

_ROOT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    """The text of ``reasongraph/html/assets/<name>``."""
    return resources.files("reasongraph.html").joinpath("assets", name).read_text(encoding="utf-8")


def new_root_id() -> str:
    """A fresh element id for one view (unique across renders, so notebook outputs never collide)."""
    return "rg-" + uuid.uuid4().hex[:12]


def to_json(payload: Any) -> str:
    """Serialize a payload for a ``<script type="application/json">`` element.

    NaN and infinities become null (JSON has no NaN), numpy values become Python values, lone surrogates
    become U+FFFD (they cannot be written as UTF-8), and ``<``, ``>``, ``&`` (plus U+2028/9) are escaped.
    """
    value = json_value(payload, nonfinite="null", clean_text=True, unknown="str")
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_ESCAPES[m.group(0)], text)


def render_view(kind: str, payload: dict, *, full_page: bool = True, root_id: str | None = None,
                title: str | None = None) -> str:
    """The HTML of one view.

    Parameters
    ----------
    kind : ``"trace"``, ``"report"``, ``"sweep"`` or ``"locus"`` (which renderer the bootstrap calls, :data:`ENTRIES`).
    payload : the view payload.
    full_page : a complete ``<!DOCTYPE html>`` document; False gives a fragment for a notebook cell or for
        embedding (the same markup without html/head/body).
    root_id : the root element's id; a fresh unique one by default. Letters, digits, ``-`` and ``_`` only.
    title : the document title (full pages); defaults to ``payload["title"]``.
    """
    if kind not in SCRIPTS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, SCRIPTS))}, got {kind!r}")
    root_id = root_id or new_root_id()
    if not _ROOT_ID.match(root_id):
        raise ValueError(f"root_id must start with a letter and hold only letters, digits, '-' and '_': "
                         f"got {root_id!r}")
    scripts = "\n".join(asset(name) for name in SCRIPTS[kind])
    entry = ENTRIES[kind]
    body = (
        f'<div class="rg-root rg-{kind}" id="{root_id}">'
        f'<p class="rg-nojs">This interactive view needs JavaScript. In Jupyter, trust the notebook '
        f'(File &gt; Trust Notebook) and run the cell again.</p></div>\n'
        f'<script type="application/json" id="{root_id}-data">{to_json(payload)}</script>\n'
        f"<style>{asset('style.css')}</style>\n"
        f"<script>{scripts}\n"
        f'window.ReasonGraph.{entry}(document.getElementById("{root_id}"), '
        f'JSON.parse(document.getElementById("{root_id}-data").textContent));</script>'
    )
    if not full_page:
        return body
    page_title = title if title is not None else str(payload.get("title", "reasongraph"))
    page_title = html.escape(replace_lone_surrogates(page_title))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"reasongraph\">\n"
        f"<title>{page_title}</title>\n</head>\n<body class=\"rg-body\">\n{body}\n</body>\n</html>\n"
    )



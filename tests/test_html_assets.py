"""The view scripts as text: the safety rule and the dependency rule of ``reasongraph/html/assets``.

Safety: data reaches the page only through textContent / createTextNode / setAttribute, so no script may hand a
string to an HTML or JavaScript parser. Dependencies: each script uses only what it or the scripts before it in
its view's list (``page.SCRIPTS``) put on ``window.ReasonGraph``; the report never touches the trace view's
internals (graph.js, text.js), only its public ``renderTrace``.
"""
from __future__ import annotations

import re

import pytest

from reasongraph.html.document import ENTRIES, SCRIPTS, asset, render_view

NAMES = sorted({n for names in SCRIPTS.values() for n in names})
SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(", "srcdoc",
         "createContextualFragment", "setTimeout(\"", "setInterval(\"", "DOMParser")


def code(name: str) -> str:
    """The script without its comments (they may name the sinks they avoid)."""
    text = re.sub(r"/\*.*?\*/", "", asset(name), flags=re.S)
    return re.sub(r"(^|\s)//[^\n]*", r"\1", text)


def members(text: str) -> tuple[set[str], set[str]]:
    """(names the script assigns on the namespace, names it reads from it)."""
    defined = set(re.findall(r"\bRG\.(\w+)\s*=(?!=)", text))
    return defined, set(re.findall(r"\bRG\.(\w+)", text)) - defined


@pytest.mark.parametrize("name", NAMES)
def test_no_script_parses_strings_as_markup_or_code(name):
    text = code(name)
    assert [s for s in SINKS if s in text] == []


@pytest.mark.parametrize("kind", sorted(SCRIPTS))
def test_each_script_uses_only_what_comes_before_it(kind):
    available: set[str] = set()
    for name in SCRIPTS[kind]:
        defined, used = members(code(name))
        assert used <= available, f"{name} reads {sorted(used - available)} before any script of {kind} defines it"
        available |= defined
    assert ENTRIES[kind] in available and ("renderReport" in available) == (kind == "report")
    assert ("renderTrace" in available) == (kind not in ("sweep", "locus"))  # they embed no trace view


SECTIONS = {"collapse.js": "_collapse", "alignment.js": "_alignment", "layers.js": "_layers",
            "diversity.js": "_diversity"}


def test_report_scripts_use_only_common_and_render_trace():
    _, used = members(code("report.js"))
    assert used <= {"_common", "renderTrace", *SECTIONS.values()}


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_each_report_section_needs_only_common(name):
    defined, used = members(code(name))
    assert defined == {SECTIONS[name]} and used == {"_common"}, name
    assert name in SCRIPTS["report"] and name not in SCRIPTS["trace"]
    assert SCRIPTS["report"].index(name) < SCRIPTS["report"].index("report.js")


def test_each_view_carries_its_scripts_once_in_order():
    for kind, names in SCRIPTS.items():
        html = render_view(kind, {"title": "t"}, full_page=False, root_id="r")
        at = [html.index(asset(n)) for n in names]
        assert at == sorted(at) and all(html.count(asset(n)) == 1 for n in names)
    assert asset("report.js") not in render_view("trace", {}, root_id="r")

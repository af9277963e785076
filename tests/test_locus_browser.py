"""The locus report in a real browser (headless Chromium): the depth plot with the locus marked, the patching
profile and the drop by entropy percentile are drawn, per scope, with no request, no script error, and hostile
model and group names staying text. Skipped, with the reason, where Chromium or Playwright is missing."""
from __future__ import annotations

import copy

import pytest
from test_html_browser import SHOTS, Opened, browser  # noqa: F401 - the browser fixture

from reasongraph.train.locus.locus import locus
from reasongraph.models.loaded import LoadedModel

pytestmark = pytest.mark.browser
HOSTILE = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    import torch

    from test_locus import TEXTS, _base

    a = _base()
    model = copy.deepcopy(a.model)
    with torch.no_grad():
        model.model.layers[2].mlp.down_proj.weight.mul_(0.3)  # a trunk change that lowers entropy after block 3
    b = LoadedModel(model=model, tokenizer=a.tokenizer, name=HOSTILE, device=a.device, dtype=a.dtype)
    items = [{"trace": t, "src": "base" if i % 2 else "</script><script>window.__pwned=1</script>"}
             for i, t in enumerate(TEXTS)]
    path = tmp_path_factory.mktemp("locus") / "texts.jsonl"
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in items))
    out = tmp_path_factory.mktemp("out")
    result = locus(a, b, path, group_field="src", out=out, patch_stride=1, n_boot=50)
    assert result.scope()["summary"]["locus_layer"] == 3
    return out / "report.html", result


def test_locus_page_draws_depth_patching_and_text_views(browser, page_path):  # noqa: F811
    path, result = page_path
    o = Opened(browser, path.as_uri())
    page = o.page
    o.assert_clean()
    assert o.errors == [] and o.dialogs == [] and page.evaluate("window.__pwned") is None
    scopes = page.locator(".rg-locus-scope")
    assert scopes.count() == 3  # all, and each group
    first = scopes.nth(0)
    depth = first.locator(".rg-locus-depth svg.rg-locus-depth-plot")
    assert depth.count() == 1
    charts = depth.locator("g.rg-locus-chart")
    assert [charts.nth(i).get_attribute("data-chart") for i in range(charts.count())] == \
        ["ratio", "similarity", "procrustes", "spectral"]
    layers = result.scope()["layers"]["layer"]
    assert depth.locator('g[data-series="lens_ratio_a_head"] circle').count() == len(layers)
    assert depth.locator('g[data-series="cka"] circle').count() == len(layers)
    assert depth.locator("line.rg-locus-mark").count() == 1 and "locus (layer 3)" in depth.text_content()
    assert "not monotone in depth" in first.locator(".rg-locus-depth").text_content()
    patch = first.locator(".rg-locus-patch svg.rg-locus-patch-plot")
    assert patch.locator('g[data-series="late_share"] circle').count() == len(result.scope()["splits"]["layer"])
    assert "head-only share" in first.locator(".rg-locus-patch-facts").text_content()
    bars = first.locator(".rg-locus-text svg rect.rg-locus-bar")
    assert bars.count() == 10
    bars.nth(9).hover()
    assert "percentile of A's entropy" in page.locator(".rg-tooltip").text_content()
    assert HOSTILE in page.locator("header .rg-facts").text_content()  # shown as text, never as markup
    assert page.locator("img").count() == 0
    first.screenshot(path=str(SHOTS / "locus.png"))

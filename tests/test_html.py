"""The HTML views without a browser: payload numbers against independent references, escaping, the CLI.

The browser side (requests, errors, hover linking, injection, load time) is in test_html_browser.py.
"""
from __future__ import annotations

import argparse
import json
import math
import re

import networkx as nx
import numpy as np
import pytest

from reasongraph.analysis.one_trace import analyze_trace
from reasongraph.graph.reasoning_graph import ReasoningGraph
from reasongraph.html.write import report_html, trace_html, write_report_html, write_trace_html
from reasongraph.html.trace_view import trace_payload
from reasongraph.html.graph_layout import graph_layout
from reasongraph.html.document import render_view, to_json
from reasongraph.html.trace_curves import smooth_entropy
from reasongraph.html.trace_view import build_trace_payload
from reasongraph.html.trace_view_tables import metric_groups
from reasongraph.html.report_view import most_cyclic_ids, report_payload
from reasongraph.html.text_strip import ENTROPY_BINS, FLAG_AHA, FLAG_FORK, entropy_bins
from reasongraph.runs.folder.reader import ScoredRun
from reasongraph.runs.folder.layout import page_name
from reasongraph.stats.bootstrap import wilson_interval
from reasongraph.analysis.synthetic import synthetic_analysis, synthetic_trace
from reasongraph.trace.steps import Step

PAYLOADS = ("<script>window.__pwned=1</script>", "</script><img src=x onerror=window.__pwned=1>",
            '"><svg onload=window.__pwned=1>')


@pytest.fixture(scope="module")
def analysis():
    return synthetic_analysis(n_steps=120, seed=1)


def decode_segments(payload: dict) -> list[tuple[int, int, int, int, int]]:
    """(start, end, step, bin, flags) per run, from the length-coded flat list."""
    seg, out, pos = payload["segments"], [], 0
    for j in range(0, len(seg), 4):
        out.append((pos, pos + seg[j], seg[j + 1], seg[j + 2], seg[j + 3]))
        pos += seg[j]
    return out


def decode_offsets(payload: dict) -> np.ndarray:
    gl, out, pos = payload["token_spans"], [], 0
    for j in range(0, len(gl), 2):
        start = pos + gl[j]
        out.append((start, start + gl[j + 1]))
        pos = start + gl[j + 1]
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def _plain_payload(walk: list[int], g: ReasoningGraph) -> dict:
    """A payload of a walk with one 4-character step per label ("s000\n" lines), entropy all zero."""
    text = "\n".join(f"s{i:03d}" for i in range(len(walk)))
    offsets = np.array([(5 * i, 5 * i + 4) for i in range(len(walk))])
    steps = [Step(i, i + 1, 5 * i, 5 * i + 4, text[5 * i:5 * i + 4]) for i in range(len(walk))]
    return build_trace_payload(text=text, offsets=offsets, entropy=np.zeros(len(walk)), steps=steps, walk=walk,
                               graph=g.to_networkx(), revisits=g.revisits())


def utf16_slice(text: str, a: int, b: int) -> str:
    return text.encode("utf-16-le")[2 * a:2 * b].decode("utf-16-le")


# ---------------------------------------------------------------------------------------------- payload
def test_payload_mirrors_analysis(analysis):
    p = trace_payload(analysis)
    tr, g = analysis.trace, analysis.graph
    assert p["format"] == "reasongraph.view" and p["kind"] == "trace"
    assert p["text"] == tr.text and p["prompt"] == tr.prompt and p["model"] == tr.model_name
    assert p["n_tokens"] == tr.n_tokens == len(p["entropy"])
    np.testing.assert_array_equal(decode_offsets(p), tr.offsets)  # ASCII text: UTF-16 == code points
    finite = np.isfinite(tr.entropy)
    assert all(e is None for e in np.array(p["entropy"], dtype=object)[~finite])
    np.testing.assert_allclose(np.array(p["entropy"], dtype=object)[finite].astype(float), tr.entropy[finite],
                               atol=5e-5)
    assert p["fork"] == np.flatnonzero(analysis.forking).tolist()

    nxg = g.to_networkx()
    assert [n["id"] for n in p["nodes"]] == list(nxg.nodes)
    for n in p["nodes"]:
        attrs = nxg.nodes[n["id"]]
        assert n["visits"] == attrs["visits"] and n["steps"] == attrs["steps"] and n["runs"] == attrs["runs"]
        assert n["mean_entropy"] == pytest.approx(attrs["mean_entropy"], abs=5e-5)
        assert n["bin"] == int(np.digitize(attrs["mean_entropy"], ENTROPY_BINS))
        assert 0 <= n["x"] <= 1 and 0 <= n["y"] <= 1
    assert {(e["source"], e["target"]): e["count"] for e in p["edges"]} == \
        {(u, v): d["count"] for u, v, d in nxg.edges(data=True)}

    revisits = {r.step: r for r in g.revisits()}
    hidden = set(analysis.alignment.hidden_only.tolist())
    assert len(p["steps"]) == tr.n_steps
    for st, step in zip(p["steps"], tr.steps):
        i = st["i"]
        assert st["tok"] == [step.start_token, step.end_token]
        assert st["chr"] == [step.start_char, step.end_char]
        assert st["node"] == int(analysis.labels[i])
        assert st["revisit"] == (i in revisits) and st["hidden_only"] == (i in hidden)
        if i in revisits:
            assert st["since"] == revisits[i].steps_since_last_visit and st["prev"] == i - st["since"]
            assert p["steps"][st["prev"]]["node"] == st["node"]
        assert st["spike"] == bool(analysis.alignment.step_spikes[i])
    assert p["tables"][0]["cells"] == analysis.alignment.table.tolist()
    assert p["metrics"]["n_revisits"] == len(revisits)


def test_segments_cover_text_with_steps_bins_and_flags(analysis):
    p = trace_payload(analysis)
    tr = analysis.trace
    runs = decode_segments(p)
    assert runs[0][0] == 0 and runs[-1][1] == len(tr.text)
    assert "".join(tr.text[a:b] for a, b, *_ in runs) == tr.text
    bins = entropy_bins(tr.entropy)
    fork_chars = np.zeros(len(tr.text), dtype=bool)
    for t in np.flatnonzero(analysis.forking):
        fork_chars[tr.offsets[t, 0]:tr.offsets[t, 1]] = True
    aha_chars = np.zeros(len(tr.text), dtype=bool)
    for m in analysis.markers:
        aha_chars[m.start_char:m.end_char] = True
    token_of = np.full(len(tr.text), -1)
    for t, (a, b) in enumerate(tr.offsets):
        token_of[a:b] = t
    for a, b, step, k, flags in runs:
        for c in range(a, b):  # every character of the run has the run's attributes
            assert k == (bins[token_of[c]] if token_of[c] >= 0 else -1)
            assert bool(flags & FLAG_FORK) == fork_chars[c] and bool(flags & FLAG_AHA) == aha_chars[c]
    for i, s in enumerate(tr.steps):  # each step's runs are contiguous and spell its text
        mine = [(a, b) for a, b, step, *_ in runs if step == i]
        assert "".join(tr.text[a:b] for a, b in mine) == s.text
        assert all(x[1] == y[0] for x, y in zip(mine, mine[1:]))


def test_cycle_edges_on_a_hand_made_walk():
    # revisits: step 3 back to 0 via 0-1-2-0; step 5 back to 1 via 1-2-0-3-1; the tail 1-4-5 is on no cycle
    walk = [0, 1, 2, 0, 3, 1, 4, 5]
    g = ReasoningGraph.from_walk(walk)
    p = _plain_payload(walk, g)
    edges = {(e["source"], e["target"]): e for e in p["edges"]}
    assert {k for k, e in edges.items() if e["cycle"]} == {(0, 1), (1, 2), (2, 0), (0, 3), (3, 1)}
    assert {k: e["returns"] for k, e in edges.items() if e["returns"]} == {(2, 0): 1, (3, 1): 1}
    assert [s["revisit"] for s in p["steps"]] == [False, False, False, True, False, True, False, False]
    assert [s["prev"] for s in p["steps"] if s["revisit"]] == [0, 1]


def test_dropped_and_empty_steps_keep_one_run_each():
    walk = [-1, 0, -1, 1, 0]
    text = "aaaa\nbbbb\ncccc\n\ndddd"
    steps = [Step(0, 1, 0, 4, "aaaa"), Step(1, 2, 5, 9, "bbbb"), Step(2, 3, 10, 14, "cccc"),
             Step(3, 3, 15, 15, ""), Step(3, 4, 16, 20, "dddd")]
    offsets = np.array([[0, 4], [5, 9], [10, 14], [16, 20]])
    g = ReasoningGraph.from_walk(walk)
    p = build_trace_payload(text=text, offsets=offsets, entropy=[0.0, 1.0, np.nan, 5.0], steps=steps, walk=walk,
                            graph=g.to_networkx(), revisits=g.revisits())
    runs = decode_segments(p)
    assert sorted({r[2] for r in runs if r[2] >= 0}) == [0, 1, 2, 3, 4]
    assert [r for r in runs if r[2] == 3] == [(15, 15, 3, -1, 0)]
    assert [s["node"] for s in p["steps"]] == [None, 0, None, 1, 0]
    assert [s["revisit"] for s in p["steps"]] == [False, False, False, False, True]
    assert [r[3] for r in runs if r[2] in (0, 1, 2, 4)] == [0, 5, -1, 8]


def test_positions_are_utf16_units_beyond_the_bmp():
    text = "\U0001d465 = 1\nthen \U0001f600 x = 2"
    offsets = np.array([[0, 1], [1, 5], [5, 6], [6, 11], [11, 12], [12, 18]])  # code points
    steps = [Step(0, 2, 0, 5, text[0:5]), Step(3, 6, 6, 18, text[6:18])]
    g = ReasoningGraph.from_walk([0, 1])
    p = build_trace_payload(text=text, offsets=offsets, entropy=np.zeros(6), steps=steps, walk=[0, 1],
                            graph=g.to_networkx(), markers=[{"start_char": 6, "end_char": 10, "text": "then"}])
    off16 = decode_offsets(p)
    for (a, b), (a16, b16) in zip(offsets, off16):
        assert utf16_slice(text, a16, b16) == text[a:b]
    for st, step in zip(p["steps"], steps):
        assert utf16_slice(text, *st["chr"]) == step.text
    assert utf16_slice(text, p["markers"][0]["start"], p["markers"][0]["end"]) == "then"
    assert sum(r[1] - r[0] for r in decode_segments(p)) == len(text.encode("utf-16-le")) // 2


def test_entropy_bins_and_smoothing_against_plain_loops():
    assert entropy_bins([0.0, 0.005, 0.01, 0.5, 3.99, 4.0, 10.0, np.nan]).tolist() == [0, 0, 1, 3, 7, 8, 8, -1]
    rng = np.random.default_rng(0)
    h = rng.exponential(0.5, size=503)
    h[[0, 17, 18, 400]] = np.nan
    curve = smooth_entropy(h, width=9, max_points=10_000)
    assert curve["x"] == list(range(503)) and curve["window"] == 9
    for i, y in zip(curve["x"], curve["y"]):
        window = h[max(0, i - 4):min(503, i - 4 + 9)]
        assert y == pytest.approx(np.nanmean(window), abs=5e-5)
    thin = smooth_entropy(h, max_points=50)
    assert len(thin["x"]) == 50 and thin["x"][0] == 0 and thin["x"][-1] == 502


def test_layout_is_deterministic_and_in_the_unit_square():
    g = nx.DiGraph()
    nx.add_cycle(g, range(12))
    g.add_edges_from([(0, 6), (3, 9), (12, 13)])
    a, b = graph_layout(g), graph_layout(g.copy())
    assert a == b and set(a) == set(g.nodes)
    xy = np.array(list(a.values()))
    assert xy.min() >= 0 and xy.max() <= 1 and np.isclose(xy.max(axis=0), 1).any()
    assert len({tuple(p) for p in xy}) == len(xy)
    assert graph_layout(nx.DiGraph()) == {}
    assert graph_layout(nx.path_graph(1)) == {0: (0.5, 0.5)}


def test_metric_groups_follow_the_catalogue_and_skip_absent():
    groups = metric_groups({"n_steps": 3, "align_n_hidden_only": 2, "align_fisher_p": float("nan"), "other": 1})
    items = {it["key"]: it["value"] for g in groups for it in g["items"]}
    assert items == {"n_steps": 3, "align_n_hidden_only": 2, "align_fisher_p": None}
    assert [g["title"] for g in groups] == ["Cycles in hidden-state space", "Where the levels meet"]


def test_bad_arguments_name_themselves():
    g = ReasoningGraph.from_walk([0, 1])
    steps = [Step(0, 1, 0, 1, "a"), Step(1, 2, 1, 2, "b")]
    kw = dict(text="ab", offsets=[[0, 1], [1, 2]], entropy=[0.1, 0.2], steps=steps, walk=[0, 1],
              graph=g.to_networkx())
    build_trace_payload(**kw)
    with pytest.raises(ValueError, match="entropy"):
        build_trace_payload(**{**kw, "entropy": [0.1]})
    with pytest.raises(ValueError, match="offsets"):
        build_trace_payload(**{**kw, "offsets": [[0, 1], [1, 3]]})
    with pytest.raises(ValueError, match="walk"):
        build_trace_payload(**{**kw, "walk": [0]})
    with pytest.raises(ValueError, match="forking"):
        build_trace_payload(**{**kw, "forking": [True]})


# ---------------------------------------------------------------------------------------------- page
def test_json_in_script_is_escaped_and_round_trips():
    payload = {"text": "a</script><!--b & c>", "x": float("nan"), "y": np.float32(1.5), "z": np.arange(3),
               "s": "lone \ud800 surrogate"}
    s = to_json(payload)
    assert "<" not in s and ">" not in s and "&" not in s
    assert json.loads(s) == {"text": "a</script><!--b & c>", "x": None, "y": 1.5, "z": [0, 1, 2],
                             "s": "lone \ufffd surrogate"}


def test_trace_html_is_self_contained_and_escapes_untrusted_strings():
    tr, walk = synthetic_trace(n_steps=12, text_prefix=" ".join(PAYLOADS), prompt="".join(PAYLOADS),
                               model_name=PAYLOADS[2])
    an = analyze_trace(tr, labels=walk, n_shifts=10)
    html = trace_html(an, title=PAYLOADS[1])
    assert html.startswith("<!DOCTYPE html>")
    for bad in ("window.__pwned=1</script>", "<img src=x", "<svg onload"):
        assert bad not in html
    # the only script elements are ours: the data island and one script
    assert len(re.findall(r"<script\b", html)) == 2 and len(re.findall(r"</script>", html)) == 2
    assert "<title>&lt;/script&gt;&lt;img src=x onerror=window.__pwned=1&gt;</title>" in html
    for ref in re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]+)""", html):
        assert not re.match(r"(?:https?:)?//", ref), ref
    assert "<link" not in html and "@import" not in html
    data = re.search(r'<script type="application/json" id="([\w-]+)-data">(.*?)</script>', html, re.S)
    payload = json.loads(data.group(2))
    assert payload["prompt"] == "".join(PAYLOADS) and payload["text"].startswith(" ".join(PAYLOADS))


def test_views_get_unique_roots_and_fragments_for_notebooks(analysis):
    a, b = trace_html(analysis, full_page=False), trace_html(analysis, full_page=False)
    ida, idb = (re.search(r'class="rg-root rg-trace" id="([\w-]+)"', h).group(1) for h in (a, b))
    assert ida != idb and "<html" not in a and "<body" not in a
    fixed = trace_html(analysis, root_id="my-view")
    assert 'id="my-view"' in fixed and 'getElementById("my-view-data")' in fixed
    with pytest.raises(ValueError, match="root_id"):
        trace_html(analysis, root_id='x" onload="y')
    with pytest.raises(ValueError, match="kind"):
        render_view("graph", {})
    assert analysis._repr_html_().count('class="rg-root rg-trace"') == 1


def test_trace_html_accepts_a_saved_payload(analysis, tmp_path):
    p = trace_payload(analysis)
    saved = json.loads(to_json(p))
    html = trace_html(saved, root_id="v1")
    assert html == trace_html(p, root_id="v1")
    out = write_trace_html(analysis, tmp_path / "t.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match="trace payload"):
        trace_html({"format": "reasongraph.view", "kind": "report"})


def test_real_trace_from_the_tiny_model(tiny):
    """One end-to-end render of a trace extracted by a real (tiny, random) model, non-BMP characters included."""
    from sklearn.cluster import KMeans

    from reasongraph.trace.extraction.teacher_forced import extract

    lines = ["Let x be the number of apples.", "Then 3x + 2 = 11 so x = 3.", "Wait, let me double-check that.",
             "So \U0001d465 = 3, and 3*3 + 2 = 11.", "The answer is 3."]
    tr = extract("\n".join(lines * 3), prompt="How many apples?", model=tiny)
    labels = KMeans(4, n_init=3, random_state=0).fit_predict(tr.step_vectors())
    an = analyze_trace(tr, labels=labels, n_shifts=20)
    p = trace_payload(an)
    off16 = decode_offsets(p)
    assert [utf16_slice(tr.text, a, b) for a, b in off16] == [tr.text[a:b] for a, b in tr.offsets]
    assert [utf16_slice(tr.text, *s["chr"]) for s in p["steps"]] == [s.text for s in tr.steps]
    assert p["model"] == tiny.name and len(p["nodes"]) == an.graph.n_nodes
    assert "rg-root" in an._repr_html_()


# ---------------------------------------------------------------------------------------------- report
def _rows(n_per_group=20, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for g, lam in (("base", 0.5), ("rl <b>", 3.0)):
        for i in range(n_per_group):
            lc = int(rng.poisson(lam))
            rows.append({"line": len(rows) + 1, "id": f"{g}-{i}", "group": g, "pair": f"p{i}",
                         "loop_exists": lc > 0, "loop_count": lc, "n_revisits": lc + int(rng.poisson(2)),
                         "max_revisits": lc, "mean_entropy": float(rng.gamma(3, 0.1)),
                         "effective_rank": float(rng.normal(30, 4)), "align_n_hidden_only": int(rng.poisson(1)),
                         "diameter_hops": float("nan") if i == 0 else int(rng.integers(1, 9))})
    return rows


def _run_dir(tmp_path, rows):
    run = tmp_path / "run"
    (run / "html").mkdir(parents=True)
    with open(run / "rows.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    (run / "errors.jsonl").write_text('{"line": 99, "reason": "empty"}\n\n')
    (run / "manifest.json").write_text(json.dumps({"format": "reasongraph.run", "options": {"model": "m", "k": 3}}))
    return run


def test_wilson_interval_check_values():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.277533), abs=1e-6)
    assert wilson_interval(5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_report_payload_statistics_from_a_run_dir(tmp_path):
    rows = _rows()
    run = _run_dir(tmp_path, rows)
    top_id = max(rows, key=lambda r: (r["loop_count"], r["n_revisits"], r["max_revisits"]))["id"]
    (run / "html" / f"{page_name(top_id)}.html").write_text("x")
    scored = ScoredRun(run)
    p = report_payload(list(scored.rows()), top=5, links=scored.trace_pages(link_base=tmp_path),
                       options=scored.options, n_errors=scored.n_errors)
    assert p["groups"] == ["base", "rl <b>"] and p["group_sizes"] == [20, 20]
    assert p["n_rows"] == 40 and p["n_errors"] == 1 and p["run"] == {"model": "m", "k": 3}
    for g, det in zip(p["groups"], p["detection"]):
        flags = [r["loop_exists"] for r in rows if r["group"] == g]
        assert det["k"] == sum(flags) and det["n"] == len(flags)
        assert (det["lo"], det["hi"]) == pytest.approx(wilson_interval(sum(flags), len(flags)))
    dist = {d["key"]: d for d in p["distributions"]}
    for key in ("loop_count", "mean_entropy", "effective_rank", "align_n_hidden_only", "diameter_hops"):
        for g, box in zip(p["groups"], dist[key]["groups"]):
            v = np.array([r[key] for r in rows if r["group"] == g], dtype=float)
            v = v[np.isfinite(v)]
            assert box["n"] == v.size
            assert (box["q1"], box["median"], box["q3"]) == pytest.approx(tuple(np.percentile(v, [25, 50, 75])))
            assert box["mean"] == pytest.approx(v.mean()) and sorted(box["values"]) == pytest.approx(sorted(v))
    ranked = sorted(rows, key=lambda r: (-r["loop_count"], -r["n_revisits"], -r["max_revisits"]))[:5]
    assert [r["id"] for r in p["top"]["rows"]] == [r["id"] for r in ranked] == most_cyclic_ids(rows, top=5)
    assert p["top"]["rows"][0]["href"] == f"run/html/{page_name(top_id)}.html"


def test_report_compare_table_and_unsafe_links(tmp_path):
    from reasongraph.analysis.groups.comparison import compare_groups

    rows = _rows()
    cmp = compare_groups(rows, "base", "rl <b>", pair_field="pair", n_boot=200)
    p = report_payload(rows, compare=cmp.as_dict(), links={"rl <b>-0": "javascript:alert(1)", "base-1": "x/y.html"})
    c = p["compare"]
    assert c["columns"][0] == "metric" and c["p_column"].startswith("p (")
    assert [r[0] for r in c["rows"]] == [m.metric for m in cmp.metrics]
    row = c["rows"][[m.metric for m in cmp.metrics].index("loop_count")]
    m = cmp.metrics[[m.metric for m in cmp.metrics].index("loop_count")]
    assert row[2:5] == pytest.approx([m.mean_a, m.mean_b, m.diff])
    hrefs = {r["id"]: r["href"] for r in report_payload(rows, top=40, links={"rl <b>-0": "javascript:alert(1)",
                                                                              "base-1": "x/y.html"})["top"]["rows"]}
    assert hrefs["rl <b>-0"] is None and hrefs["base-1"] == "x/y.html"
    path = tmp_path / "cmp.json"
    path.write_text(cmp.to_json())
    assert report_payload(rows, compare=path)["compare"]["rows"] == c["rows"]
    with pytest.raises(ValueError, match="compare"):
        report_payload(rows, compare={"nothing": 1})
    with pytest.raises(ValueError, match="rows"):
        report_payload({"x": 1})
    with pytest.raises(ValueError, match="takes rows, not a run folder"):
        report_payload(tmp_path)


def test_report_html_embeds_traces_and_escapes(tmp_path, analysis):
    rows = _rows()
    rows[0]["id"] = PAYLOADS[1]
    rows[0]["loop_count"] = 99
    html = report_html(rows, analyses={PAYLOADS[1]: analysis}, top=3)
    assert "<img src=x" not in html and len(re.findall(r"</script>", html)) == 2
    data = json.loads(re.search(r'type="application/json" id="[\w-]+-data">(.*?)</script>', html, re.S).group(1))
    assert data["top"]["rows"][0]["id"] == PAYLOADS[1] and data["top"]["rows"][0]["embed"]
    assert data["embeds"][PAYLOADS[1]]["kind"] == "trace"
    out = write_report_html(rows, tmp_path / "r.html")
    assert out.stat().st_size > 0


# ---------------------------------------------------------------------------------------------- CLI
def _cli(argv):
    from reasongraph.cli import html as html_cmd

    parser = argparse.ArgumentParser()
    html_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["html", *argv])
    return args.run(args)


def test_cli_renders_saved_analysis_trace_payload_and_run(tmp_path, analysis, capsys):
    from reasongraph.core.errors import InputError

    saved = analysis.save(tmp_path / "an")
    assert _cli([str(saved)]) == 0 and (saved / "trace.html").is_file()
    assert _cli([str(saved / "analysis.json"), "-o", str(tmp_path / "a.html"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["kind"] == "trace"
    html = (tmp_path / "a.html").read_text()
    payload = json.loads(re.search(r'type="application/json" id="[\w-]+-data">(.*?)</script>', html, re.S).group(1))
    assert len(payload["steps"]) == analysis.trace.n_steps and len(payload["nodes"]) == analysis.graph.n_nodes

    (tmp_path / "p.json").write_text(to_json(trace_payload(analysis)))
    assert _cli([str(tmp_path / "p.json")]) == 0 and (tmp_path / "p.html").is_file()

    run = _run_dir(tmp_path, _rows())
    assert _cli([str(run), "--top", "3", "--embed", "0"]) == 0 and (run / "report.html").is_file()
    (tmp_path / "cmp.json").write_text('{"nothing": 1}')
    with pytest.raises(InputError, match="compare"):
        _cli([str(run), "--compare", str(tmp_path / "cmp.json"), "--embed", "0"])
    with pytest.raises(FileNotFoundError):
        _cli([str(tmp_path / "missing")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="neither"):
        _cli([str(tmp_path / "empty")])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="payload"):
        _cli([str(tmp_path / "bad.json")])


def test_cli_analyzes_a_bare_trace_file(tmp_path):
    tr, _ = synthetic_trace(n_steps=40)
    tr.save(tmp_path / "t.npz")
    assert _cli([str(tmp_path / "t.npz")]) == 0
    html = (tmp_path / "t.html").read_text()
    payload = json.loads(re.search(r'type="application/json" id="[\w-]+-data">(.*?)</script>', html, re.S).group(1))
    assert len(payload["steps"]) == 40


def test_cli_exit_codes(tmp_path, capsys):
    from reasongraph.cli.app import main

    run = _run_dir(tmp_path, _rows())
    assert main(["html", str(run), "-o", str(tmp_path / "r.html"), "--embed", "0"]) == 0
    assert "report" in capsys.readouterr().out and (tmp_path / "r.html").is_file()
    assert main(["html", str(tmp_path / "missing")]) == 2
    assert main(["html", str(run), "--top", "-1"]) == 2
    assert "error" in capsys.readouterr().err


def test_erank_curve_points_sit_at_window_centres():
    g = ReasoningGraph.from_walk([0])
    text = "x" * 200
    p = build_trace_payload(text=text, offsets=[[i, i + 1] for i in range(200)], entropy=np.zeros(200),
                            steps=[Step(0, 200, 0, 200, text)], walk=[0], graph=g.to_networkx(),
                            erank_curve=(np.array([0, 64, 128, 136]), np.array([3.0, np.nan, 2.5, 2.0])))
    assert p["curves"]["erank"] == {"x": [32.0, 96.0, 160.0, 168.0], "y": [3.0, None, 2.5, 2.0], "window": 64}
    assert p["curves"]["entropy"]["window"] == 4 and p["nodes"][0]["x"] == 0.5

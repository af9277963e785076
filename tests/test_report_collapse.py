"""The level-collapse figure wherever a report of a run is made (issue 21.3): `html RUN --compare cmp.json`,
`write_run_report(run, compare=compare_groups(...))`, and a report of a run of two paired groups with no comparison
at all, each checked in real headless Chromium; a run of one group has no figure."""
from __future__ import annotations

import json
import random

import pytest

from reasongraph.analysis.groups.comparison import compare_groups
from reasongraph.cli.app import main as cli_main
from reasongraph.runs.folder.reader import ScoredRun
from reasongraph.runs.folder.report import report_collapse, write_run_report
from reasongraph.runs.scoring.score import score_dataset

from test_html_browser import Opened, browser  # noqa: F401 - the module's Chromium fixture

pytestmark = pytest.mark.browser

WORDS = "the sum of two numbers is seven so we check again wait maybe compute carefully factor then".split()


@pytest.fixture(scope="module")
def paired_run(tmp_path_factory, tiny):
    """A scored run of two groups (base, rl) on the same 6 problems."""
    root = tmp_path_factory.mktemp("paired")
    rng = random.Random(1)
    with (root / "in.jsonl").open("w") as f:
        for p in range(6):
            for group in ("base", "rl"):
                steps = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10))) for _ in range(8)]
                f.write(json.dumps({"id": f"{group}-{p}", "problem": f"Problem {p}", "model": group,
                                    "pair_key": f"q{p}", "trace": "\n".join(steps)}) + "\n")
    score_dataset(root / "in.jsonl", model=tiny, out=root / "run", prompt_field="problem", group_field="model",
                  pair_field="pair_key", k=4, n_shifts=0, progress=False)
    return root / "run"


def _figure_drawn(browser, path) -> bool:  # noqa: F811
    o = Opened(browser, path.as_uri())
    drawn = o.count(".rg-collapse-panel") == 1 and o.count(".rg-collapse .rg-cl-row") > 0
    heading = o.page.locator(".rg-collapse-panel").first.inner_text() if drawn else ""
    o.assert_clean()
    o.close()
    return drawn and "Level collapse: rl vs base" in heading


def test_html_with_compare_json_draws_the_figure(browser, paired_run, tmp_path, capsys):  # noqa: F811
    assert cli_main(["compare", str(paired_run), "--a", "base", "--b", "rl", "--json"]) == 0
    cmp = tmp_path / "cmp.json"
    cmp.write_text(capsys.readouterr().out)
    assert json.loads(cmp.read_text())["collapse"]["rows"]
    out = tmp_path / "report.html"
    assert cli_main(["html", str(paired_run), "--compare", str(cmp), "-o", str(out), "--embed", "0"]) == 0
    assert _figure_drawn(browser, out)


def test_write_run_report_with_a_comparison_object_draws_the_figure(browser, paired_run, tmp_path):  # noqa: F811
    rows = list(ScoredRun(paired_run).rows())
    cmp = compare_groups(rows, "base", "rl", group_field="group", pair_field="pair")
    out = write_run_report(paired_run, tmp_path / "r.html", compare=cmp, embed=0)
    assert _figure_drawn(browser, out)


def test_a_run_of_two_paired_groups_draws_it_without_a_comparison(browser, paired_run, tmp_path):  # noqa: F811
    out = write_run_report(paired_run, tmp_path / "r.html", embed=0)
    assert _figure_drawn(browser, out)
    # the level coupling per group says how many traces it comes from, flagged when few (traces of < 384 tokens
    # have no coupling: 0 here)
    o = Opened(browser, out.as_uri())
    coupling = o.page.locator(".rg-cl-coupling")
    assert coupling.inner_text().startswith("Coupling per group: base n/a (n = 0)")
    assert coupling.locator(".rg-small-sample").count() == 2 and coupling.locator(".rg-small-sample").first.is_visible()
    o.close()
    run = ScoredRun(paired_run)
    rows = [r for r in run.rows() if r["group"] == "base"]
    assert report_collapse(run, rows) is None  # one group: nothing to compare
    unpaired = [{**r, "pair": None} for r in run.rows()]
    assert report_collapse(run, unpaired) is None  # two groups, no pairs

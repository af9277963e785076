"""Every command and Python block of README.md and docs/*.md runs (issue 21.2).

What is extracted: each ```-fenced block of a Markdown file whose language is bash/sh/shell/console, or which has
no language and begins with a command (``reasongraph``, ``make``, ``python``, ``pip``, ``ray``, ``for``); and each
```python block. Output listings (a fence that begins with anything else) are not commands.

How it runs: a file's shell commands run one after another (bash) in a fresh folder holding the repository's
``examples/`` and ``fixtures/`` and small inputs of the names the docs use (``traces.jsonl``, ``prompts.jsonl``,
``probes.jsonl``, ``samples.jsonl``, checkpoints in ``runs/grpo/``), ``reasongraph`` being ``python -m reasongraph``
of this checkout; a file's Python blocks run in order in one process (a block may use what an earlier one defined).
The runs start fresh processes that import torch, so they are marked ``slow`` (``make test-fast`` leaves them
out; ``make test`` and CI run them); the static checks (extraction, the skip list, every quoted option and make
target) are fast. The ``slow`` part runs them on the tiny random model at smoke sizes, through :data:`TINY`, the
one table of every change made to a documented command (:data:`MODEL` for the part marked ``model``, which runs the
commands that name the default model with it, and the seed question's commands after its smoke run). A command
must exit 0, or the code a ``# exits N`` comment on its line shows (a documented bad-input example), not print what
the doc shows.

A command that is not meant to run says so where it is shown, visibly: a comment ``# not run here: REASON`` on its
line. A command the table skips by name, or that carries that comment, is listed in the skip list, which must
equal :data:`EXPECTED_SKIPS`: a new command that cannot run fails here until it is added with its reason.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = ("README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")))
SKIP = "SKIP"
NOT_RUN = re.compile(r"#\s*not run here:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
COMMAND_START = re.compile(r"^(reasongraph|make|python|pip|ray|for) ")
EXITS = re.compile(r"#.*\bexits (\d+)\b")  # a documented exit code other than 0, e.g. "# exits 2: bad input"
SEED_RUN = "python examples/seed_question.py --smoke --quiet --out out/seed_question"

# The one table of rewrites: (regex over one command, continuation lines joined, or over one Python block;
# replacement or SKIP; why). Applied in order, each to what the previous ones left; the first SKIP that matches
# skips the command. TINY is the default part's table (the tiny random model, smoke sizes); MODEL the model part's.
COMMON = [
    (r"^make test\b.*", SKIP, "runs the whole suite, of which this test is a part"),
    (r"^pip install\b.*", SKIP, "installs a package (the environment is the test's own)"),
    (r"^ray start\b.*", SKIP, "starts a node of a Ray cluster"),
    (r"^make demo\b.*", "reasongraph analyze examples/trace.txt --prompt-file examples/prompt.txt --save out/demo "
     "--html out/demo.html", "make demo builds .venv first: its recipe (checked to be the Makefile's) runs instead"),
    (r"--max-tokens 2048", "--max-tokens 256", "smoke size: a lens sample of 256 tokens, not 2,048"),
]
TINY = COMMON + [
    (r"^reasongraph compare out/seed_question/run\b.*", SKIP,
     "needs the seed question's run (the real model and the shipped adapter): runs in the model part"),
    (r"^reasongraph locus --a smollm2-135m --b smollm2-135m\+fixtures\S*", "reasongraph locus --a tiny-random "
     "--b tiny-random-1", "the tiny random model for both checkpoints (the real pair runs in the model part)"),
    (r"out/seed_question/locus_(base|rl)\.jsonl", r"samples_\1.jsonl",
     "texts of the same fields as the seed question's locus files, written by the test"),
    (r"smollm2-135m\+fixtures/smollm2-grpo-lora|\./rl-checkpoint|\./my-rl|/shared/models/my-rl-model",
     "tiny-random-1", "the tiny random model (seed 1) for the RL checkpoint"),
    (r"Qwen/Qwen2\.5-Math-7B|smollm2-135m", "tiny-random", "the tiny random model for the base (no hub, fast)"),
    (r"^(\s*reasongraph (analyze|score|generate) (?!.*--model\b)[^#\n]*?)(\s*(#.*)?)$", r"\1 --model tiny-random\3",
     "the tiny random model where the default model is meant"),
    (r"^(\s*reasongraph score fixtures/skythought_math500_24x3\.jsonl(?!.*--limit)) ", r"\1 --limit 12 ",
     "smoke size: the fixture's first 12 traces (4 problems, each group), not 72"),
    (r"--limit 10\b", "--limit 6", "smoke size"),
    (r"^for K in 663 199 66 200;", "for K in 663 200;", "smoke size: two of the four K (each a fresh process)"),
    (r"^for K in auto 24 8 200;", "for K in auto 8;", "smoke size: two of the four K"),
    (r"--samples 8\b", "--samples 2 --max-new-tokens 16", "smoke size: 2 samples of at most 16 tokens"),
    (r"--samples 4 --max-new-tokens 64", "--samples 2 --max-new-tokens 16", "smoke size"),
    (r'rg\.locus\("tiny-random", "tiny-random-1", "samples\.jsonl"', 'rg.locus("tiny-random", "tiny-random-1", '
     '"samples.jsonl", max_tokens=256', "smoke size: a lens sample of 256 tokens"),
    (r'GRPOTrainer\(model="HuggingFaceTB/SmolLM2-135M-Instruct"', 'GRPOTrainer(model="tiny-model"',
     "the tiny random model's folder (with a chat template) instead of the hub id"),
    (r'GRPOConfig\("grpo-out", ', 'GRPOConfig("grpo-out", max_steps=2, per_device_train_batch_size=4, use_cpu=True, '
     'report_to="none", save_strategy="no", ', "smoke size: 2 training steps, no report or checkpoint"),
    (r"max_completion_length=64", "max_completion_length=8", "smoke size"),
    (r"samples=4, max_new_tokens=64", "samples=2, max_new_tokens=8", "smoke size"),
    (r"every=10\)", "every=1)", "probe at every one of the 2 steps"),
]
MODEL = COMMON + [
    (r"^reasongraph compare out/seed_question/run\b", f"{SEED_RUN} && reasongraph compare out/seed_question/run",
     "the seed question at its smoke size (3 problems x 2 samples) before its comparison (resumes: runs once)"),
    (r"^reasongraph locus --a smollm2-135m\b", f"{SEED_RUN} && reasongraph locus --a smollm2-135m",
     "the seed question's smoke run writes the locus texts"),
    (r"Qwen/Qwen2\.5-Math-7B", "smollm2-135m", "the default model for the base (no hub)"),
    (r"\./my-rl\b", "smollm2-135m+fixtures/smollm2-grpo-lora", "the shipped GRPO policy for the RL model"),
]
# Which documented commands and blocks the model part runs (file, start of the command or block): those that
# name the default model or need it.
MODEL_RUNS = {
    ("README.md", "make demo"),
    ("README.md", "import reasongraph as rg"),
    ("README.md", "reasongraph compare out/seed_question/run"),
    ("README.md", "reasongraph locus --a smollm2-135m"),
}
EXPECTED_SKIPS = {
    "tiny": {
        ("README.md", "make test", "runs the whole suite, of which this test is a part"),
        ("README.md", "reasongraph score /shared/traces.jsonl", "needs a Ray cluster and its shared filesystem"),
        ("README.md", "reasongraph compare out/seed_question/run",
         "needs the seed question's run (the real model and the shipped adapter): runs in the model part"),
        ("docs/scaling.md", 'pip install "reasongraph[ray]"', "installs a package (the environment is the test's own)"),
        ("docs/scaling.md", "ray start", "starts a node of a Ray cluster"),
        ("docs/scaling.md", "reasongraph score /shared/data/traces.jsonl",
         "needs a Ray cluster and its shared filesystem"),
        ("docs/scaling.md", "import reasongraph as rg", "needs a Ray cluster and its shared filesystem"),
    },
}


@dataclass(frozen=True)
class Item:
    """One documented command (continuations joined) or Python block."""

    file: str
    line: int
    kind: str  # "shell" or "python"
    text: str
    not_run: str | None = None  # the reason a ``# not run here: REASON`` comment gives


    @property
    def head(self) -> str:
        first = next(x for x in self.text.strip().splitlines() if not x.startswith("#"))
        return " ".join(first.split()[:3]) if self.kind == "shell" else first.strip()


def _fences(text: str):
    """(line of the opening fence, language, body) of each ```-fenced block."""
    lines, start, lang, body = text.splitlines(), None, "", []
    for i, line in enumerate(lines, 1):
        fence = re.match(r"^\s*```(\S*)", line)
        if fence and start is None:
            start, lang, body = i, fence.group(1).lower(), []
        elif fence:
            yield start, lang, "\n".join(body)
            start = None
        elif start is not None:
            body.append(line)


def _shell_commands(body: str) -> list[tuple[str, str | None]]:
    """(command, not-run reason) of each command of a shell block: continuation lines joined; a ``for ... done``
    loop is one command; a ``# not run here: REASON`` comment applies to its own line or, alone on a line, to the
    next command."""
    joined = re.sub(r"\\\n\s*", "", body)
    commands, loop, pending = [], [], None
    for line in joined.splitlines():
        marker = NOT_RUN.search(line)
        if loop or line.startswith("for "):
            loop.append(line)
            if line.strip() == "done":
                commands.append(("\n".join(loop), pending))
                loop, pending = [], None
        elif line.lstrip().startswith("#"):
            pending = marker.group(1).strip() if marker else pending
        elif line.strip():
            commands.append((line.strip(), marker.group(1).strip() if marker else pending))
            pending = None
    return commands


def extract(file: str) -> list[Item]:
    """Every command and Python block of one Markdown file, in order."""
    items = []
    for line, lang, body in _fences((ROOT / file).read_text(encoding="utf-8")):
        first = body.strip().splitlines()[0] if body.strip() else ""
        if lang == "python":
            marker = NOT_RUN.search(body)
            items.append(Item(file, line, "python", body, marker.group(1).strip() if marker else None))
        elif lang in ("bash", "sh", "shell", "console") or (lang == "" and COMMAND_START.match(first)):
            items += [Item(file, line, "shell", c, why) for c, why in _shell_commands(body)]
    return items


def rewrite(item: Item, table) -> tuple[str | None, str | None]:
    """(the text to run, None) or (None, why it is skipped)."""
    if item.not_run:
        return None, item.not_run
    text = item.text
    for pattern, replacement, reason in table:
        if re.search(pattern, text, re.MULTILINE):
            if replacement == SKIP:
                return None, reason
            text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return text, None


ALL_ITEMS = [item for f in DOC_FILES for item in extract(f)]


def _plan(part: str, items=ALL_ITEMS):
    """(item, text to run or None, skip reason or None) for every item of a part."""
    table = TINY if part == "tiny" else MODEL
    chosen = items if part == "tiny" else [i for i in items if any(
        i.file == f and i.text.startswith(h) for f, h in MODEL_RUNS)]
    return [(item, *rewrite(item, table)) for item in chosen]


# ---------------------------------------------------------------------------------------------------- workspace
def _write_jsonl(path: Path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _workspace(tmp: Path, file: str | None = None) -> Path:
    """A folder holding examples/, fixtures/ and the small inputs the docs' commands name (``samples.jsonl``
    only where ``file``'s own commands do not write it)."""
    import reasongraph as rg
    from reasongraph.models.tiny import TINY_TOKENIZER

    for name in ("examples", "fixtures"):
        (tmp / name).symlink_to(ROOT / name, target_is_directory=True)
    fixture = [json.loads(x) for x in (ROOT / "fixtures/skythought_math500_24x3.jsonl").read_text().splitlines()]
    pairs = [r for r in fixture if r["model_type"] in ("base", "longcot_sft")][:8]
    # the fields of the README's traces.jsonl: trace, problem, model (base / rl), pair_key; short traces
    _write_jsonl(tmp / "traces.jsonl", [{"trace": "\n".join(r["trace"].splitlines()[:12]), "problem": r["problem"],
                                         "model": "base" if r["model_type"] == "base" else "rl",
                                         "pair_key": r["pair_key"]} for r in pairs])
    problems = [json.loads(x) for x in (ROOT / "fixtures/grpo_problems/test.jsonl").read_text().splitlines()][:3]
    _write_jsonl(tmp / "prompts.jsonl", [{"id": p["id"], "prompt": p["prompt"]} for p in problems])
    _write_jsonl(tmp / "probes.jsonl", [{"id": f"q{i}", "prompt": f"What is {a} + {b}?", "answer": a + b}
                                        for i, (a, b) in enumerate([(7, 12), (3, 5)])])
    texts = [{"prompt": r["problem"], "trace": "\n".join(r["trace"].splitlines()[:6])} for r in pairs[:4]]
    writes_samples = any("--out samples.jsonl" in i.text for i in ALL_ITEMS if i.file == file)
    for name in ("samples_base.jsonl", "samples_rl.jsonl") + (() if writes_samples else ("samples.jsonl",)):
        _write_jsonl(tmp / name, texts)
    # a model folder (with a chat template, for TRL) and a training run of two checkpoints, for sweep
    lm = rg.tiny_random_model(seed=0, device="cpu", dtype="float32", tokenizer=TINY_TOKENIZER)
    lm.tokenizer.chat_template = lm.tokenizer.chat_template or (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}")
    for folder, step in (("tiny-model", None), ("runs/grpo/checkpoint-1", 1), ("runs/grpo/checkpoint-2", 2)):
        lm.model.save_pretrained(tmp / folder)
        lm.tokenizer.save_pretrained(tmp / folder)
        if step:
            (tmp / folder / "trainer_state.json").write_text(json.dumps(
                {"global_step": step, "log_history": [{"step": step, "reward": 0.1 * step}]}))
    return tmp





def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


SHELL_PRELUDE = 'reasongraph() { "$PY" -m reasongraph "$@"; }\npython() { "$PY" "$@"; }\nset -o pipefail\n'


def _run_shell(cwd: Path, text: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", SHELL_PRELUDE + text], cwd=cwd, env={**_env(), "PY": sys.executable},
                          capture_output=True, text=True, timeout=timeout)


PY_RUNNER = """
import json, sys, traceback
ns = {"__name__": "__main__"}
for where, src in json.load(open(sys.argv[1])):
    print("readme-runs: running", where, flush=True)
    try:
        exec(compile(src, where, "exec"), ns)
    except BaseException:
        traceback.print_exc()
        print("readme-runs: FAILED", where, flush=True)
        sys.exit(1)
"""


def _run_python(cwd: Path, blocks: list[tuple[str, str]], timeout: float) -> subprocess.CompletedProcess:
    spec = cwd / "blocks.json"
    spec.write_text(json.dumps(blocks))
    return subprocess.run([sys.executable, "-c", PY_RUNNER, str(spec)], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


def _run_file(part: str, file: str, kind: str, cwd: Path, timeout: float, *, slow_blocks=()) -> list[str]:
    """Run one file's commands (in order, one folder) or Python blocks (one process); the failures."""
    todo = [(item, text) for item, text, why in _plan(part) if item.file == file and item.kind == kind and text]
    if kind == "python":
        blocks = [(f"{i.file}:{i.line}", t) for i, t in todo if (i.file, i.line) not in slow_blocks]
        if not blocks:
            return []
        done = _run_python(cwd, blocks, timeout)
        return [] if done.returncode == 0 else [f"{file}: exit {done.returncode}\n{done.stdout[-2000:]}"
                                                f"\n{done.stderr[-4000:]}"]
    failures = []
    for item, text in todo:
        done = _run_shell(cwd, text, timeout)
        expected = EXITS.search(item.text)
        if done.returncode != (int(expected.group(1)) if expected else 0):
            failures.append(f"{item.file}:{item.line}: {text!r} exit {done.returncode}\n{done.stderr[-3000:]}")
    return failures


# ---------------------------------------------------------------------------------------------------- the tests
def test_commands_and_blocks_are_extracted():
    """The extraction finds what the docs show: the README's two set-up commands, its Python block, and no output
    listing taken for a command."""
    heads = [(i.file, i.kind, i.head) for i in ALL_ITEMS]
    assert heads[:3] == [("README.md", "shell", "make demo #"), ("README.md", "shell", "make test #"),
                         ("README.md", "python", "import reasongraph as rg")]
    assert not any(i.text.startswith("where entropy collapses") for i in ALL_ITEMS)
    assert {i.file for i in ALL_ITEMS} >= {"README.md", "docs/scaling.md", "docs/training.md", "docs/locus.md",
                                            "docs/choosing_k.md"}


def test_the_skip_list_is_exactly_the_expected_one():
    skipped = {(i.file, _skip_head(i), why) for i, text, why in _plan("tiny") if why}
    print("\nskipped documented commands (tiny part):")
    for file, head, why in sorted(skipped):
        print(f"  {file}: {head}: {why}")
    assert skipped == EXPECTED_SKIPS["tiny"]


def _skip_head(item: Item) -> str:
    """How EXPECTED_SKIPS names a command: its first words up to an option or comment (a block: its first line)."""
    if item.kind == "python":
        return item.head
    words = []
    for w in item.text.split():
        if w.startswith("-") or w.startswith("#"):
            break
        words.append(w)
    return " ".join(words)


def test_rewrites_all_apply():
    """Every row of the table changes or skips at least one documented command or block: a row that matches
    nothing is a command the docs no longer show (remove the row)."""
    texts = [i.text for i in ALL_ITEMS]
    for table in (TINY, MODEL):
        staged = list(texts)
        for pattern, replacement, reason in table:
            hits = [t for t in staged if re.search(pattern, t, re.MULTILINE)]
            assert hits, f"rewrite {pattern!r} ({reason}) matches no documented command"
            if replacement != SKIP:
                staged = [re.sub(pattern, replacement, t, flags=re.MULTILINE) for t in staged]


def test_the_tiny_part_never_runs_the_default_model():
    """Each model-loading command of the default part names the tiny model (SmolLM2 belongs to the model part)."""
    for item, text, _ in _plan("tiny"):
        for line in (text or "").splitlines():
            line = line.split("#")[0]
            if re.match(r"\s*reasongraph (analyze|score|generate)\b", line):
                assert re.search(r"--model (\w+=)?tiny-random", line), (item.file, item.line, line)
            if re.match(r"\s*reasongraph locus\b", line):
                assert "--a tiny-random --b tiny-random-1" in line, (item.file, item.line, line)
        assert "smollm2" not in (text or "").lower(), (item, text)


def test_make_demo_rewrite_is_the_makefiles_recipe():
    """The default part runs make demo's recipe, not the Makefile: they must say the same command."""
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)
    recipe = " ".join(recipe.replace("\\\n", " ").split()).replace("$(OUT)", "out").replace("$(BIN)/", "")
    demo = next(r for p, r, _ in COMMON if p.startswith("^make demo"))
    assert demo in recipe


@pytest.mark.slow  # fresh processes that import torch: make test-fast leaves them out
@pytest.mark.parametrize("file", [f for f in DOC_FILES if any(i.file == f and i.kind == "shell" for i in ALL_ITEMS)])
def test_shell_commands_run_on_the_tiny_model(file, tmp_path):
    failures = _run_file("tiny", file, "shell", _workspace(tmp_path, file), timeout=600)
    assert not failures, "\n\n".join(failures)


SLOW_PYTHON = {("docs/training.md", 19)}  # TRL's GRPO (imports trl, trains 2 steps): marked slow


@pytest.mark.slow  # fresh processes that import torch: make test-fast leaves them out
@pytest.mark.parametrize("file", [f for f in DOC_FILES if any(i.file == f and i.kind == "python" for i in ALL_ITEMS)])
def test_python_blocks_run_on_the_tiny_model(file, tmp_path):
    slow = {(f, line) for f, line in SLOW_PYTHON if f == file}
    failures = _run_file("tiny", file, "python", _workspace(tmp_path, file), timeout=600, slow_blocks=slow)
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
def test_the_trl_grpo_snippet_runs_on_the_tiny_model(tmp_path):
    pytest.importorskip("trl", reason="the rl extra (trl) is not installed")
    blocks = [(f"{i.file}:{i.line}", t) for i, t, _ in _plan("tiny") if (i.file, i.line) in SLOW_PYTHON and t]
    assert len(blocks) == len(SLOW_PYTHON)
    done = _run_python(_workspace(tmp_path, "docs/training.md"), blocks, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


@pytest.mark.model
def test_the_default_models_commands_run(tmp_path):
    """make demo and the README's Python block on SmolLM2; the seed question's commands after its smoke run."""
    pytest.importorskip("peft", reason="the rl extra (peft) is not installed: the adapter cannot load")
    plan = _plan("model")
    assert {(i.file, h) for i, _, _ in plan for f, h in MODEL_RUNS if i.text.startswith(h)} == MODEL_RUNS
    cwd = _workspace(tmp_path, "README.md")
    failures = []
    for item, text, why in plan:
        assert why is None, (item, why)
        if item.kind == "shell":
            done = _run_shell(cwd, text, timeout=1800)
        else:
            done = _run_python(cwd, [(f"{item.file}:{item.line}", text)], timeout=1800)
        if done.returncode != 0:
            failures.append(f"{item.file}:{item.line}: exit {done.returncode}\n{done.stderr[-3000:]}")
    assert not failures, "\n\n".join(failures)


def _documented_invocations():
    """(file, command, rest of the line) of every ``reasongraph COMMAND ...`` the docs name, in prose or code."""
    for file in DOC_FILES:
        text = re.sub(r"\\\n\s*", "", (ROOT / file).read_text(encoding="utf-8"))
        for m in re.finditer(r"reasongraph (analyze|score|compare|html|generate|sweep|locus)\b([^`\n]*)", text):
            yield file, m.group(1), m.group(2).split("#")[0]


EXAMPLE_SCRIPT_OPTIONS = {"--smoke"}  # examples/*.py's own options that the docs quote


def test_every_documented_option_exists():
    """An option the docs give a command (in prose too, where no test runs it) is one of that command's options:
    the drift of issue 21 (``--layers 0.9,0.1,...`` where score takes ``--layer``, repeated) fails here."""
    from reasongraph.cli.app import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.choices and "score" in a.choices).choices
    options = {name: set(sub._option_string_actions) for name, sub in commands.items()}
    found = [(file, cmd, flag) for file, cmd, rest in _documented_invocations()
             for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest)]
    assert len(found) > 50
    unknown = [f for f in found if f[2] not in options[f[1]]]
    assert not unknown, unknown
    # an option quoted alone in prose (`--layers 0.9,...`) is some command's option, or an example script's
    everywhere = set().union(*options.values()) | EXAMPLE_SCRIPT_OPTIONS
    quoted = {(file, flag) for file in DOC_FILES
              for flag in re.findall(r"`(--[a-z][a-z0-9-]*)", (ROOT / file).read_text(encoding="utf-8"))}
    assert not {q for q in quoted if q[1] not in everywhere}
    # the control: the old drift is caught
    assert "--layers" not in everywhere and "--layer" in options["score"]


def test_every_documented_make_target_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    named = {m for file in DOC_FILES for m in re.findall(r"`make ([a-z][a-z-]*)", (ROOT / file).read_text())}
    named |= {i.text.split()[1] for i in ALL_ITEMS if i.kind == "shell" and i.text.startswith("make ")}
    assert named and named <= targets, named - targets

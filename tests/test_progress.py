"""Progress that tells the truth: the order of the lines a run writes, never their timing.

The first line comes right after the model loads, before any batch ends, and counts what an earlier run did; the
forward passes inside one batch move the count of tokens before its records finish; the rate and the ETA come from
tokens. Ctrl-C says how to resume. Clocks are injected where a rate is checked, and no test asserts wall-clock time.
"""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from reasongraph.cli.app import main as cli_main
from reasongraph.core.progress import Progress, format_duration

from conftest import wait_for

ROOT = Path(__file__).resolve().parents[1]


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


# ---------------------------------------------------------------------- the bar alone, on an injected clock
def test_log_lines_when_not_a_tty():
    """A line at once, another after the first work (never a meaningless "0 tokens/s, ETA ?"), then one every
    interval, and the final state."""
    clock, stream = _Clock(), io.StringIO()
    bar = Progress(total=10, desc="extract", stream=stream, interval=30.0, clock=clock, total_work=1000)
    assert stream.getvalue() == "reasongraph extract: 0/10 records (0%), starting, elapsed 0:00:00\n"
    clock.t = 10.0
    bar.update(4, tokens=2000, work=400)  # 2000 tokens in 10 s; 600 of 1000 chars left at 5 tokens a char
    clock.t = 20.0
    bar.update(1, tokens=500, work=100)
    assert stream.getvalue().count("\n") == 2  # the next line only 30 s after the last
    clock.t = 50.0
    bar.update(1, tokens=500, work=100)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[1] == ("reasongraph extract: 4/10 records (40%), 2,000 tokens, 200 tokens/s, ETA 0:00:15 "
                        "(~3,000 tokens left), elapsed 0:00:10")
    assert lines[2] == ("reasongraph extract: 6/10 records (60%), 3,000 tokens, 60 tokens/s, ETA 0:00:33 "
                        "(~2,000 tokens left), elapsed 0:00:50")
    assert len(lines) == 4 and lines[3] == lines[2]  # close() prints the final state
    assert "\r" not in stream.getvalue()


def test_the_eta_comes_from_tokens_not_records():
    """Three short records done, one long one left: the records left would say 1/3 of the time so far; the
    tokens left say twice it."""
    clock, stream = _Clock(), io.StringIO()
    bar = Progress(total=4, desc="extract", stream=stream, clock=clock, total_work=900)
    clock.t = 30.0
    bar.update(3, tokens=600, work=300)  # 20 tokens/s, 2 tokens a char; 600 chars = 1200 tokens left
    rps, tps, eta = bar.rates()
    assert (rps, tps) == (pytest.approx(0.1), pytest.approx(20.0))
    assert bar.tokens_left() == pytest.approx(1200.0) and eta == pytest.approx(60.0)
    assert (bar.total - bar.n) / rps == pytest.approx(10.0)  # what a record count would have said


def test_a_resume_counts_what_was_done_in_its_first_line():
    """6 of 10 records cached by an earlier run: the first line says so, and they stay out of the rates."""
    clock, stream = _Clock(), io.StringIO()
    bar = Progress(total=10, desc="extract", stream=stream, clock=clock, total_work=1000, done=6, done_work=600)
    assert stream.getvalue() == "reasongraph extract: 6/10 records (60%), 6 done before, starting, elapsed 0:00:00\n"
    clock.t = 10.0
    bar.update(1, tokens=300, work=100)  # 30 tokens/s, 3 a char; 300 chars (900 tokens) left
    assert bar.rates()[2] == pytest.approx(30.0)
    assert stream.getvalue().splitlines()[-1].startswith("reasongraph extract: 7/10 records (70%), 300 tokens")


def test_advance_moves_the_tokens_inside_a_batch_before_its_records_finish():
    clock, stream = _Clock(), io.StringIO()
    bar = Progress(total=10, desc="extract", stream=stream, interval=30.0, clock=clock, total_work=1000)
    clock.t = 5.0
    bar.advance(tokens=500, work=100)  # the first forward pass of the one batch: a line at once
    clock.t = 8.0
    bar.advance(tokens=500, work=100)  # within the interval: counted, not drawn
    assert stream.getvalue().splitlines()[1] == ("reasongraph extract: 0/10 records (0%), 500 tokens, 100 tokens/s, "
                                                 "ETA 0:00:45 (~4,500 tokens left), elapsed 0:00:05")
    bar.update(10)  # the batch's records finish: their tokens were counted already
    bar.close()
    assert stream.getvalue().splitlines()[-1].startswith("reasongraph extract: 10/10 records (100%), 1,000 tokens")


def test_a_tqdm_bar_on_a_tty_and_nothing_when_disabled():
    clock, stream = _Clock(), _Tty()
    bar = Progress(total=4, desc="analyze", stream=stream, clock=clock, total_work=400, done=1, done_work=100)
    clock.t = 2.0
    bar.update(1, tokens=100, work=100)
    bar.close()
    out = stream.getvalue()
    assert "\r" in out and out.endswith("\n")  # redrawn in place, the line ended
    assert "analyze: 1/4 |" in out and "1 done before, starting" in out
    assert "analyze: 2/4 |" in out and "100 tokens, 50 tokens/s, ETA 0:00:04 (~200 tokens left)" in out
    quiet = io.StringIO()
    with Progress(total=3, stream=quiet, enabled=False) as p:
        p.update(3)
    assert quiet.getvalue() == ""
    assert format_duration(3725.2) == "1:02:05" and format_duration(float("nan")) == "?"


def test_an_interrupt_ends_the_bar_without_a_final_line():
    stream = io.StringIO()
    with pytest.raises(KeyboardInterrupt), Progress(total=3, desc="x", stream=stream) as bar:
        bar.update(1, tokens=5)
        raise KeyboardInterrupt
    assert len(stream.getvalue().splitlines()) == 2  # the start and the first work; no "final state"


def test_generate_counts_samples_written_before():
    clock, stream = _Clock(), io.StringIO()
    with Progress(total=8, desc="generate", stream=stream, interval=0.0, clock=clock, unit="samples",
                  done=2) as bar:
        clock.t = 10.0
        bar.update(3, tokens=150)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "reasongraph generate: 2/8 samples (25%), 2 done before, starting, elapsed 0:00:00"
    assert lines[-1] == ("reasongraph generate: 5/8 samples (62%), 150 tokens, 15 tokens/s, ETA 0:00:10, "
                         "elapsed 0:00:10")


# ---------------------------------------------------------------------- a real run of the tiny model
def _records(path: Path, n: int) -> Path:
    words = "the sum of two numbers is seven so we check again wait maybe compute carefully".split()
    with path.open("w") as f:
        for i in range(n):
            steps = [" ".join(words[(i + j) % len(words):] + words[:(i * j) % 5]) for j in range(3 + i % 4)]
            f.write(json.dumps({"id": f"r{i}", "problem": f"Problem {i}", "trace": "\n".join(steps)}) + "\n")
    return path


def _progress_lines(err: str, stage: str) -> list[str]:
    return [line for line in err.splitlines() if f"{stage}:" in line]


def test_score_lines_come_in_order_within_one_batch_and_count_the_cache(tiny_dir, tmp_path, capsys):
    """10 records, one batch: the model loads, the first line follows before any batch ends, a forward pass
    inside the batch moves the tokens (0/10 records), then the records finish. A second input of the 6 first
    records plus 4 more, on the same cache: the first line counts the 6 as done."""
    six, ten = _records(tmp_path / "six.jsonl", 6), _records(tmp_path / "ten.jsonl", 10)
    common = ["--model", str(tiny_dir), "--prompt-field", "problem", "--k", "3", "--n-shifts", "0",
              "--cache-dir", str(tmp_path / "cache")]
    assert cli_main(["score", str(ten), "--out", str(tmp_path / "ten"), *common]) == 0
    err = capsys.readouterr().err.splitlines()
    first = next(i for i, line in enumerate(err) if "pass 1/2 extract:" in line)
    assert any("loading" in line for line in err[:first]), err  # the model loaded before the first line
    extract = _progress_lines("\n".join(err), "pass 1/2 extract")
    assert extract[0] == "reasongraph pass 1/2 extract: 0/10 records (0%), starting, elapsed 0:00:00"
    assert re.match(r"reasongraph pass 1/2 extract: 0/10 records \(0%\), [\d,]+ tokens, [\d,]+ tokens/s, ETA ",
                    extract[1]), extract  # inside the one batch, before any record finished
    assert extract[-1].startswith("reasongraph pass 1/2 extract: 10/10 records (100%)")
    fit = next(i for i, line in enumerate(err) if "fitting" in line)
    assert err.index(extract[-1]) < fit < err.index(_progress_lines("\n".join(err), "pass 2/2 analyze")[0])

    capsys.readouterr()
    assert cli_main(["score", str(six), "--out", str(tmp_path / "six"), *common]) == 0
    err = capsys.readouterr().err
    assert _progress_lines(err, "pass 1/2 extract")[0] == \
        "reasongraph pass 1/2 extract: 6/6 records (100%), 6 done before, starting, elapsed 0:00:00"
    assert _progress_lines(err, "pass 2/2 analyze")[0].startswith("reasongraph pass 2/2 analyze: 0/6 records")


def test_a_resumed_pass_2_counts_its_rows_in_the_first_line(tiny_dir, tmp_path, capsys):
    ten = _records(tmp_path / "ten.jsonl", 10)
    args = ["score", str(ten), "--out", str(tmp_path / "run"), "--model", str(tiny_dir), "--prompt-field", "problem",
            "--k", "3", "--n-shifts", "0"]
    assert cli_main(args) == 0
    rows = tmp_path / "run" / "rows.jsonl"
    kept = rows.read_text().splitlines(keepends=True)[:6]
    rows.write_text("".join(kept))  # as if pass 2 stopped after 6 rows
    (tmp_path / "run" / "summary.json").unlink()
    capsys.readouterr()
    assert cli_main(args) == 0
    err = capsys.readouterr().err
    assert _progress_lines(err, "pass 2/2 analyze")[0] == \
        "reasongraph pass 2/2 analyze: 6/10 records (60%), 6 done before, starting, elapsed 0:00:00"
    assert _progress_lines(err, "pass 2/2 analyze")[-1].startswith("reasongraph pass 2/2 analyze: 10/10 records")


# ---------------------------------------------------------------------- Ctrl-C, a real signal to a real process
@pytest.mark.slow  # a fresh process imports torch and transformers
def test_ctrl_c_says_how_to_resume_and_exits_130(tiny_dir, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"Problem {i}: count to {i}."}) + "\n" for i in range(12)))
    out = tmp_path / "samples.jsonl"
    args = ["generate", str(prompts), "--out", str(out), "--model", str(tiny_dir), "--samples", "2",
            "--max-new-tokens", "12", "--seed", "5", "--batch-size", "3"]
    proc = subprocess.Popen([sys.executable, "-m", "reasongraph", *args], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") >= 3, proc), "never wrote 3 samples"
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1].decode()
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("reasongraph generate: interrupted; what was done is kept: to resume, run the same "
                           "command again: reasongraph generate ")
    assert last.endswith(" ".join(args[1:]))
    n_written = out.read_bytes().count(b"\n")
    assert n_written < 24
    assert cli_main(args + ["--quiet"]) == 0  # the same command (quiet) resumes to the end
    assert out.read_bytes().count(b"\n") == 24

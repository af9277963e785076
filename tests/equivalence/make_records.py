"""Writes tests/equivalence/pairs.jsonl, the input of the equivalence harness's cases P and V.

    python tests/equivalence/make_records.py

The first 4 problems (``pair_key``) x 3 models of fixtures/skythought_math500_24x3.jsonl (12 real traces, the
fields the runs read), then two records that must become errors: an empty trace without a prompt, and a trace
holding a lone surrogate (the JSON escape of half a UTF-16 pair). The file is committed; rerun this only to change
the cases (and then say so: the harness compares old and new code on whatever it holds).
"""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "fixtures" / "skythought_math500_24x3.jsonl"
OUT = Path(__file__).with_name("pairs.jsonl")
FIELDS = ("id", "model", "pair_key", "problem", "trace")
N_PAIRS = 4


def main() -> None:
    records = [json.loads(line) for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()]
    keys = list(dict.fromkeys(r["pair_key"] for r in records))[:N_PAIRS]
    chosen = [{f: r[f] for f in FIELDS} for r in records if r["pair_key"] in keys]
    assert len(chosen) == 3 * N_PAIRS, len(chosen)
    lines = [json.dumps(r, ensure_ascii=False) for r in chosen]
    lines.append(json.dumps({"id": "bad/empty", "model": "Qwen/Qwen2.5-Math-7B", "pair_key": "bad", "trace": ""}))
    # json.dumps writes the lone surrogate as the escape \ud835, which is how such text arrives in real files
    lines.append(json.dumps({"id": "bad/surrogate", "model": "Qwen/Qwen2.5-14B-Instruct", "pair_key": "bad",
                             "problem": "Solve x + 1 = 2.", "trace": "x = 1\n\ud835 is a lone surrogate"}))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

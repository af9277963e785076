"""Runs a list of reasongraph jobs through the public API, with whichever reasongraph the path imports.

    PYTHONPATH=<code> OMP_NUM_THREADS=1 python tests/equivalence/run_cases.py --code <code> JOBS.json

The equivalence harness (tests/test_equivalence.py) runs the same jobs once with the code of ``redesign-base``
(extracted by ``git archive``) and once with the working tree's, each in a fresh process with one thread, and
compares what they wrote. It is also a hand tool: write a JSON list of jobs and point ``--code`` at any checkout.
Only ``import reasongraph as rg`` is used, so the script runs unchanged against both sides of a refactoring.

Jobs (each a dict): ``{"do": "score", "input", "out", "options"}`` (:func:`rg.score_dataset`);
``{"do": "generate", "prompts", "out", "options"}`` (:func:`rg.generate`); ``{"do": "analyze", "text",
"prompt", "out", "options"}`` (:func:`rg.analyze`, saved with ``Analysis.save``); ``{"do": "append", "path",
"record"}`` (one JSON line added to a file, e.g. a hand-made record). Paths are absolute. A job with
``"engine": "ray"`` among its options runs on a local Ray instance of 2 CPUs, started once.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path


def run(job: dict) -> None:
    import reasongraph as rg

    options = dict(job.get("options", {}))
    if job["do"] == "score":
        if options.get("engine") == "ray":
            _start_ray()
        rg.score_dataset(job["input"], out=job["out"], progress=False, **options)
    elif job["do"] == "generate":
        rg.generate(job["prompts"], out=job["out"], progress=False, **options)
    elif job["do"] == "analyze":
        text = Path(job["text"]).read_text(encoding="utf-8")
        prompt = Path(job["prompt"]).read_text(encoding="utf-8") if job.get("prompt") else None
        rg.analyze(text, prompt, **options).save(job["out"])
    elif job["do"] == "append":
        with open(job["path"], "a", encoding="utf-8") as f:
            f.write(json.dumps(job["record"]) + "\n")
    else:
        raise ValueError(f"unknown job {job['do']!r}")


def _start_ray() -> None:
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", type=Path, help="a JSON file holding the list of jobs")
    parser.add_argument("--code", type=Path, required=True,
                        help="the checkout whose reasongraph must be the one imported (a guard against the path)")
    args = parser.parse_args(argv)
    import reasongraph

    where = Path(reasongraph.__file__).resolve()
    if not where.is_relative_to(args.code.resolve()):
        sys.exit(f"imported {where}, not the reasongraph of {args.code}: set PYTHONPATH to {args.code}")
    for job in json.loads(args.jobs.read_text(encoding="utf-8")):
        t0 = time.perf_counter()
        run(job)
        print(f"{time.perf_counter() - t0:7.1f} s  {job['do']} {job.get('out', job.get('path'))}", flush=True)


if __name__ == "__main__":
    main()

"""``reasongraph sweep CHECKPOINT_DIR... --prompts P.jsonl --out DIR``: exploration over a run's saved checkpoints."""
from __future__ import annotations

import argparse
import json
import sys

from reasongraph.cli.shared import add_quiet_option
from reasongraph.core.display import fmt, fmt_ci, text_table
from reasongraph.train.probe.options import ProbeOptions
from reasongraph.train.sweep_options import SweepOptions

EPILOG = """\
Each CHECKPOINT_DIR is a saved model folder (config.json, .safetensors weights, a tokenizer) or a training run's
output folder, whose checkpoint-<step> folders are all taken. Checkpoints are measured in order of their step
(trainer_state.json's global_step, else the number in checkpoint-<step>), one loaded at a time. Each samples the
same probe prompts with the same seed and scores its own samples; the first fixes the clustering and the forking
threshold every later one is measured against.

DIR gets sweep.jsonl (one row per checkpoint), samples.jsonl (every probe sample with its measures), summary.json
(the entropy-law fits and the collapse of the last checkpoint against the first) and report.html.

Accuracy: --answer-field names the field of the prompts file holding each prompt's reference answer (a number is
compared with the last number of a sample). Reward: --reward-field names a field the trainer logged (TRL GRPO logs
"reward"), read from each checkpoint's trainer_state.json. With either, the entropy law R = -a*exp(H) + b is fit
over the checkpoints and its ceiling b - a (R at H = 0) is reported with a 95% interval; with 6 checkpoints or
more, the law fit on the first third forecasts the rest, and the forecast's error is reported. With answers, each
checkpoint also gets Cui et al.'s covariance of ln pi(a_t) and the GRPO advantage over its sampled tokens (column
cov(lp,A)), beside the change of H_mean to the next checkpoint (dH_next): a positive covariance predicts a fall.

Checkpoint folders: checkpoint-<step> (Hugging Face Trainer, TRL), global_step_<step>/actor/huggingface (verl,
after python -m verl.model_merger merge) and global_step<step>_hf (OpenRLHF with --save_hf_ckpt). The trainers'
own pickled checkpoints are refused, with the command that exports them.

Short completions (RL on short answers) need a smaller --window and --stride than the paper's 128 and 40 for
erank_window and ERV to be defined, and --segment window:N when they have too few lines to make a walk.
"""


def add_parser(sub: argparse._SubParsersAction, parents: tuple = (),
               formatter: type = argparse.HelpFormatter) -> argparse.ArgumentParser:
    p = sub.add_parser("sweep", help="measure exploration over a run's saved checkpoints", epilog=EPILOG,
                       parents=list(parents), formatter_class=formatter,
                       description="Probe every checkpoint of a training run on the same prompts (on-policy "
                                   "samples, scored by the checkpoint itself): token entropy, the hidden states' "
                                   "effective rank, revisits, the diversity of the samples; fit the entropy-"
                                   "performance law and compare each checkpoint with the first.")
    p.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT_DIR",
                   help="saved model folders, or run folders holding checkpoint-<step> folders")
    p.add_argument("--prompts", required=True, metavar="FILE",
                   help="the probe prompts: .jsonl, .csv, .tsv, .parquet, a saved datasets folder, or .txt")
    p.add_argument("--out", required=True, metavar="DIR", help="the output folder (created)")
    f = p.add_argument_group("fields")
    ProbeOptions.add_arguments(f, only=("prompt_field", "id_field", "answer_field"))
    SweepOptions.add_arguments(f, only=("reward_field",))
    s = p.add_argument_group("probe")
    ProbeOptions.add_arguments(s, only=("samples", "temperature", "max_new_tokens", "seed", "prompt_format", "layer",
                                        "segment", "k", "window", "stride", "batch_size"))
    m = p.add_argument_group("model and statistics")
    m.add_argument("--device", default="auto", metavar="DEVICE", help="auto (cuda when present), cpu, cuda, cuda:N")
    m.add_argument("--dtype", default="auto", metavar="DTYPE",
                   help="auto (bfloat16 on cuda, float32 on cpu), float32, bfloat16, float16")
    SweepOptions.add_arguments(m, only=("n_boot",))
    o = p.add_argument_group("output")
    SweepOptions.add_arguments(o, only=("title",))
    o.add_argument("--json", action="store_true", help="print the rows and the fits as JSON instead of a table")
    add_quiet_option(o)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from reasongraph.train.probe.probe import ExplorationProbe
    from reasongraph.train.sweep import sweep

    options = SweepOptions.from_args(args)
    probe = ExplorationProbe(args.prompts, options=ProbeOptions.from_args(args))
    result = sweep(args.checkpoints, probe, out=args.out, device=args.device, dtype=args.dtype, options=options)
    if args.json:
        json.dump({"rows": result.rows, "laws": {n: law.as_dict() for n, law in result.laws.items()},
                   "law_forecasts": result.forecasts}, sys.stdout, indent=1)
        print()
        return 0
    keys = ["H_mean", "H_low_share", "forking_share_ref", "erank_window", "erv", "revisits_per_step",
            "distinct_walk_share", "accuracy", *([args.reward_field] if args.reward_field else []),
            "cov_logp_adv", "H_change_next", "token_collapse", "hidden_collapse_erank"]
    head = ["checkpoint", "step", "H_mean", "H<0.01", "fork_ref", "erank_w", "ERV", "rev/step", "distinct",
            "accuracy", *([args.reward_field] if args.reward_field else []), "cov(lp,A)", "dH_next", "tok_coll",
            "hid_coll"]
    body = [[r["checkpoint"], str(r["step"]), *(fmt(r.get(key)) for key in keys)] for r in result.rows]
    print(text_table(head, body, rule=True))
    for name, law in result.laws.items():
        print(f"entropy law {name} = -a*exp(H) + b over {law.n} checkpoints: a = {fmt(law.a)} "
              f"{fmt_ci(*law.a_ci)}, b = {fmt(law.b)} {fmt_ci(*law.b_ci)}; predicted ceiling b - a = "
              f"{fmt(law.ceiling)} {fmt_ci(*law.ceiling_ci)}; R^2 = {fmt(law.r2)}")
    for name, f in result.forecasts.items():
        print(f"entropy law {name} fit on the first {f['n_fit']} of {f['n']} checkpoints: a = {fmt(f['a'])}, "
              f"b = {fmt(f['b'])}; its forecast of the other {f['n'] - f['n_fit']}: mean absolute error "
              f"{fmt(f['mae'])}, largest {fmt(f['max_error'])}")
    seconds = [r["seconds"] + r["load_seconds"] for r in result.rows]
    print(f"wrote {args.out}/sweep.jsonl, samples.jsonl, summary.json and report.html; "
          f"{fmt(sum(seconds) / len(seconds))} s per checkpoint")
    return 0


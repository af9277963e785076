"""``reasongraph locus --a BASE --b RL TEXTS``: where along depth, and where in the text, B's token entropy parts
from A's."""
from __future__ import annotations

import argparse
import json
import sys

from reasongraph.cli.shared import add_quiet_option
from reasongraph.core.display import fmt, fmt_ci, text_table
from reasongraph.train.locus.options import LocusOptions

EPILOG = """\
TEXTS are JSONL, CSV/TSV or Parquet files read as score reads them (--text-field, --prompt-field ...), or run
folders of reasongraph score, whose scored samples are read back from their trace cache. With several TEXTS, each
is reported on its own beside all of them (with --group-by, each group is).

A and B are any models load_model accepts: smollm2-135m, a model folder, a .gguf file, a hub id, a verl step folder
after its model merger (global_step_N, read from actor/huggingface) or an OpenRLHF global_stepN_hf folder. They
must share every parameter shape and the tokenizer. One model is in memory at a time (A, then B, then A again);
the layer states travel through disk (--states-dir).

DIR gets locus.json (every number, with sample sizes, strides and notes) and report.html (--html elsewhere).
  reasongraph locus --a smollm2-135m --b ./rl-checkpoint samples.jsonl --prompt-field prompt --out locus/
"""


def add_parser(sub: argparse._SubParsersAction, parents: tuple = (),
               formatter: type = argparse.HelpFormatter) -> argparse.ArgumentParser:
    p = sub.add_parser("locus", help="where two checkpoints' token entropy parts: depth, head, text",
                       epilog=EPILOG, parents=list(parents), formatter_class=formatter,
                       description="Teacher-force the same texts through a base checkpoint A and a trained "
                                   "checkpoint B. Per layer: the logit-lens entropy ratio B/A (each model's head, "
                                   "and A's head on both trunks) with the collapse locus, linear CKA, Procrustes, "
                                   "10-NN overlap and spectral entropy. Residual patching: the share of the drop "
                                   "produced after each layer, and by the head alone. The temperature on A that "
                                   "mimics B. Where in the text the drop lies.")
    p.add_argument("texts", nargs="+", metavar="TEXTS", help="record files or score run folders")
    p.add_argument("--a", required=True, metavar="SPEC", help="the base model A")
    p.add_argument("--b", required=True, metavar="SPEC", help="the trained model B")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write locus.json and report.html into DIR (default: none)")
    p.add_argument("--html", metavar="FILE", default=None, help="write the HTML report to FILE (default: none)")
    p.add_argument("--json", action="store_true", help="print locus.json instead of tables")
    f = p.add_argument_group("fields")
    LocusOptions.add_arguments(f, only=("text_field", "prompt_field", "id_field", "group_field", "limit"))
    m = p.add_argument_group("models and extraction")
    m.add_argument("--device", default=None, metavar="DEVICE", help="cpu, cuda, cuda:N (default: cuda if present)")
    m.add_argument("--dtype", default=None, metavar="DTYPE",
                   help="float32, bfloat16, float16 (default: float32 on cpu, bfloat16 on cuda)")
    LocusOptions.add_arguments(m, only=("prompt_format", "temperature", "truncate", "segment"))
    a = p.add_argument_group("analysis")
    LocusOptions.add_arguments(a, only=("layer_stride", "patch_stride", "max_tokens", "k", "seed", "n_boot"))
    r = p.add_argument_group("run")
    LocusOptions.add_arguments(r, only=("states_dir", "keep_states"))
    add_quiet_option(r)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from reasongraph.train.locus.locus import locus

    result = locus(args.a, args.b, args.texts, out=args.out, html=args.html, device=args.device, dtype=args.dtype,
                   options=LocusOptions.from_args(args))
    data = result.as_dict()
    if args.json:
        json.dump(data, sys.stdout, indent=1)
        print()
        return 0
    print(format_locus(data))
    written = [f"{args.out}/locus.json"] if args.out else []
    written += [args.html or f"{args.out}/report.html"] if (args.html or args.out) else []
    if written:
        print(f"wrote {', '.join(written)}")
    return 0


def format_locus(data: dict) -> str:
    """locus.json as text: per scope, the headline numbers, the depth table and the patching profile."""
    lines = [f"A = {data['a']['name']}, B = {data['b']['name']}: {data['n_texts']} texts"]
    for s in data["scopes"]:
        m, t = s["summary"], s["layers"]
        lines += ["", f"[{s['name']}] {s['n_texts']} texts, {s['n_tokens']} tokens ({s['n_sampled']} sampled)",
                  f"  drop D = E(A,A) - E(B,B) = {fmt(m['E_AA'])} - {fmt(m['E_BB'])} = {fmt(m['drop'])} "
                  f"{fmt_ci(m['drop_ci_low'], m['drop_ci_high'])} nats",
                  f"  collapse locus (A's head): layer {fmt(m['locus_layer'])}; own heads: layer "
                  f"{fmt(m['locus_layer_own_head'])}",
                  f"  head-only share {fmt(m['head_only_share'])} "
                  f"{fmt_ci(m['head_only_share_ci_low'], m['head_only_share_ci_high'])}; half the drop produced "
                  f"by layer {fmt(m['half_drop_layer'])}",
                  f"  temperature-equivalent t* = {fmt(m['t_star'])}, explaining {fmt(m['t_share_explained'])}",
                  f"  A's top-20% tokens carry {fmt(m['top20_drop_share'])} "
                  f"{fmt_ci(m['top20_drop_share_ci_low'], m['top20_drop_share_ci_high'])} of the drop; B keeps "
                  f"{fmt(m['top20_overlap'])} {fmt_ci(m['top20_overlap_ci_low'], m['top20_overlap_ci_high'])} of "
                  "their positions", ""]
        body = [[str(layer), fmt(t["H_A"][i]), fmt(t["H_B"][i]),
                 f"{fmt(t['lens_ratio'][i])} {fmt_ci(t['lens_ratio_ci_low'][i], t['lens_ratio_ci_high'][i])}",
                 f"{fmt(t['lens_ratio_a_head'][i])} "
                 f"{fmt_ci(t['lens_ratio_a_head_ci_low'][i], t['lens_ratio_a_head_ci_high'][i])}",
                 fmt(t["lens_ratio_a_head_p_holm"][i]), fmt(t["cka"][i]), fmt(t["procrustes"][i]),
                 fmt(t["knn_overlap"][i])] for i, layer in enumerate(t["layer"])]
        lines.append(text_table(["layer", "H_A", "H_B", "ratio (own heads)", "ratio (A's head)", "p Holm", "CKA",
                                 "Procrustes", "10-NN"], body))
        sp = s["splits"]
        body = [[str(layer), fmt(sp["E_AB"][i]), fmt(sp["E_BA"][i]),
                 f"{fmt(sp['late_share'][i])} {fmt_ci(sp['late_share_ci_low'][i], sp['late_share_ci_high'][i])}"]
                for i, layer in enumerate(sp["layer"])]
        lines += ["", text_table(["split", "E(A to l, B)", "E(B to l, A)", "late share"], body)]
    mem, t = data["memory"], data["timings"]
    above = None if None in (mem["peak_rss_mib"], mem["rss_start_mib"]) else mem["peak_rss_mib"] - mem["rss_start_mib"]
    lines += ["", f"peak memory {fmt(mem['peak_rss_mib'])} MiB ({fmt(above)} MiB "
              f"above the start) for models of {fmt(mem['model_mib'])} MiB; {fmt(t['total_s'])} s in all (passes "
              f"{fmt(t.get('passes_s'))}, head swap {fmt(t.get('head_swap_s'))}, patching {fmt(t.get('patch_s'))}, "
              f"lens {fmt(t.get('lens_s'))}, temperature {fmt(t.get('temperature_s'))})"]
    lines += [f"note: {n}" for n in data["notes"]]
    return "\n".join(lines)

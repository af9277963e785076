#!/usr/bin/env bash
# The accelerator path's checks, for a session with one CUDA GPU; about 4 minutes on an H200. From the repo root:
#
#     bash benchmarks/gpu_check.sh 2>&1 | tee gpu_check.log
#
# 1. Correctness of the CUDA path (tests named test_cuda_*): pinned non-blocking copies on a side stream, the
#    torch.compile'd entropy head against float64, the pipelined passes against the CPU, bf16 hidden states equal
#    to the model's own, a non-finite layer named. They need no model files (a tokenizer is trained in-process).
# 2. The benchmark: bare trunk vs extract_batch on a random-init Qwen2.5-7B shape in bf16. 1x8192 and 16x512 carry
#    the goals (>= 0.94x and >= 0.85x bare, peak <= 1.5 GiB over bare), printed as met or MISSED at the end;
#    1x512 and 1x2048 show how a pass's speed grows with its tokens (the CUDA token budget and the bucketing's
#    trade of padding against passes: extraction.CUDA_PASS_TOKENS should be about 512 x (bare tok/s at 1x8192 /
#    bare tok/s at 1x512 - 1)). "eager" is extract_batch with the eager entropy head (no torch.compile).
# 3. The fused sampling path (generate --score) on CUDA: tokens/s and peak device memory of reasongraph's sampler
#    alone ("batched") and recording what scoring needs, layer 0.9's hidden states and log-probs ("batched,
#    --score"), against plain transformers generate per prompt, on the same random 7B shape in bf16, 32 rows of
#    up to 128 tokens a call (benchmarks/bench_generate.py). Its correctness test (the GPU draws the CPU's tokens,
#    and records what a teacher-forced CPU pass computes) runs in step 1 (tests/test_onepass.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" - <<'EOF'
import torch, transformers
assert torch.cuda.is_available(), "gpu_check.sh: torch sees no CUDA device"
print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.cuda.get_device_name()}")
EOF
"$PY" -m pytest -q -rs -p no:cacheprovider -k cuda tests/test_batching.py tests/test_vocab_entropy.py \
    tests/test_onepass.py
"$PY" benchmarks/bench_extract.py --model random:qwen2.5-7b --shapes 1x8192,16x512,1x512,1x2048 --repeats 6
(cd benchmarks && "$PY" bench_generate.py --model random:qwen2.5-7b --device cuda --dtype bfloat16 --prompt-format raw \
    --problems 4 --samples 8 --batch-size 32 --max-new-tokens 128 --repeats 2)

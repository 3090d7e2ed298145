# make build: set up .venv (and Debian packages when root), render every format into out/
# make test:  the same set-up, then the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: build test check system-deps tools setup clean fuzz bench

build: setup
	$(BIN)/publish build

check: setup
	$(BIN)/publish check

test: setup
	$(BIN)/python -m pytest

setup: system-deps tools $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

# Ace by DAISY and axe-core (npm) into .tools/, for the EPUB and HTML accessibility tests
tools: system-deps
	@bash scripts/install-ace.sh
	@bash scripts/install-axe.sh

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# a long Hypothesis run; counts go to bench/FUZZ.md
fuzz: setup
	bash scripts/fuzz.sh

# the benchmark against pandoc and the WeasyPrint floor; results in bench/RESULTS.md
bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf out/*.pdf out/*.epub out/*.docx out/*.html out/*_files out/.publish-cache out/.publish.lock

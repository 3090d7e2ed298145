# make build: set up .venv with what rendering needs (and the render list of Debian packages
#             when root), render every format of the showcase article into out/
# make test:  that, plus the test-only tools (LibreOffice, Java, Chromium, calibre, Ace, axe-core
#             and the Python test extras), then the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: build test check system-deps render-deps test-deps tools setup setup-test clean fuzz bench

build: setup
	$(BIN)/publish build

check: setup
	$(BIN)/publish check

test: setup-test
	$(BIN)/python -m pytest

setup: render-deps $(STAMP)

setup-test: setup test-deps tools $(TSTAMP)

# Debian packages (scripts/system-deps.sh): the render list, the test list, or both
render-deps:
	@bash scripts/system-deps.sh render

test-deps:
	@bash scripts/system-deps.sh render test

system-deps: test-deps

# Ace by DAISY and axe-core (npm) into .tools/, for the EPUB and HTML accessibility tests
tools: test-deps
	@bash scripts/install-ace.sh
	@bash scripts/install-axe.sh

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TSTAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TSTAMP)

# a long Hypothesis run; counts go to bench/FUZZ.md
fuzz: setup-test
	bash scripts/fuzz.sh

# the benchmark against pandoc, Typst and the WeasyPrint floor; results in bench/RESULTS.md
# (quick trial: $(BIN)/python bench/run.py --runs 1 --docs article)
BSTAMP := $(VENV)/.installed-bench

$(BSTAMP): $(TSTAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BSTAMP)

bench: setup-test $(BSTAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf out/*.pdf out/*.epub out/*.docx out/*.html out/*_files out/.publish-cache out/.publish.lock

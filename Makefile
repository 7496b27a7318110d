# The two set-up commands of the README are `make book` and `make test`.
# Each creates .venv on first use and reinstalls it when the pins change.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MATHJAX := _mathjax/_static/mathjax/tex-mml-chtml.js
# nbgrader runs `alembic` as a subprocess, so the venv's bin/ must be on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: book test lab release grade clean

book: $(STAMP) $(MATHJAX)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is built. Open: file://$(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Coursework (see book/instructors.md): student versions, then grades.
release: $(STAMP)
	$(BIN)/python tools/coursework.py release

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder/<student>/<chNN>/*.ipynb"; exit 2; }
	$(BIN)/python tools/coursework.py grade "$(SUBMISSIONS)"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt -c constraints.txt -e .
	touch $@

# MathJax comes from a pip package (installed above) and is served by the
# site itself, so math renders without any CDN.
$(MATHJAX): $(STAMP)
	rm -rf _mathjax && mkdir -p _mathjax/_static
	cp -r "$$($(BIN)/python -c 'import mathjax, os; print(os.path.dirname(mathjax.__file__))')/static/mathjax/es5" _mathjax/_static/mathjax
	touch $@

clean:
	rm -rf _build _mathjax coursework

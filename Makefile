# The two set-up commands of the README are `make book` and `make test`.
# Each creates .venv on first use and reinstalls it when the pins change.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nbgrader runs `alembic` as a subprocess, so the venv's bin/ must be on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: book test lab release grade clean

# The build typesets the math with MathJax in Node.js and fetches the Chinese
# web font with npm (book/_ext/math_prerender.py, book/_ext/site_weight.py).
book: $(STAMP)
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "make book needs Node.js and npm (e.g. sudo apt-get install nodejs npm)"; exit 2; }
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python tools/i18n.py build
	@echo "The book is built. Open: file://$(CURDIR)/_build/html/index.html"
	@echo "The Chinese edition: file://$(CURDIR)/_build/html/zh_CN/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Coursework (see book/instructors.md): student versions, then grades.
# Grading runs each notebook in a bubblewrap sandbox (apt-get install bubblewrap).
# `make release EDITION=zh_CN`: instructions from the Chinese edition.
# Optional: DUE="2026-12-01 23:59" (UTC unless a zone is given), JOBS=4
# (notebooks at once), TIMEOUT=60 (seconds per cell).
release: $(STAMP)
	$(BIN)/python tools/coursework.py release $(if $(EDITION),--language $(EDITION))

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo 'usage: make grade SUBMISSIONS=folder [DUE="2026-12-01 23:59"] [JOBS=2] [TIMEOUT=60]'; exit 2; }
	$(BIN)/python tools/coursework.py grade "$(SUBMISSIONS)" $(if $(DUE),--due "$(DUE)") $(if $(JOBS),--jobs $(JOBS)) $(if $(TIMEOUT),--timeout $(TIMEOUT))

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt -c constraints.txt -e .
	touch $@

clean:
	rm -rf _build _mathjax coursework

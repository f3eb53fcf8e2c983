# Two commands do everything on a fresh machine:
#   make run    create .venv if needed, install, launch the app
#   make test   same set-up, then the whole test suite
# What users and packagers get (CI runs both smoke tests after `make test`):
#   make dist          the sdist and wheel in dist/
#   make smoke-wheel   install the wheel into a fresh venv outside the checkout and smoke-test it
#   make frozen        the double-click app (PyInstaller) in dist/PhotoCLIP
#   make smoke-frozen  build it and smoke-test the built executable (CLI and window)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Outside the checkout, so the installed package cannot import from the source tree.
SMOKE_VENV ?= $(or $(TMPDIR),/tmp)/photoclip-wheel-venv
SMOKE = cd $(or $(TMPDIR),/tmp) && $(PYTHON) $(CURDIR)/installer/smoke_test.py

.PHONY: run test lint typecheck bench install clean dist smoke-wheel frozen smoke-frozen

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py

# The suite runs in TEST_WORKERS processes (pytest-xdist; 541 tests in 3.6 min on 2 cores,
# 2026-11-30); tests that time something run first, alone. --dist worksteal: a worker that runs out
# of tests takes pending ones from the other, so no long test waits at the end of one queue.
TEST_WORKERS ?= 2
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m timing
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not timing" -n $(TEST_WORKERS) --dist worksteal

dist: $(STAMP)
	rm -f dist/photoclip-*.whl dist/photoclip-*.tar.gz
	$(BIN)/python -m build --no-isolation --outdir dist .
	@ls -l dist/photoclip-*

smoke-wheel: dist
	rm -rf $(SMOKE_VENV)
	$(PYTHON) -m venv $(SMOKE_VENV)
	$(SMOKE_VENV)/bin/python -m pip install --quiet dist/photoclip-*.whl
	@du -sh $(SMOKE_VENV)
	$(SMOKE) --exe $(SMOKE_VENV)/bin/photoclip --python $(SMOKE_VENV)/bin/python \
		--samples $(CURDIR)/$(BIN)/python

frozen: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,frozen]"
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist \
		--workpath build/pyinstaller installer/photoclip.spec
	@du -sh dist/PhotoCLIP; find dist/PhotoCLIP -type f | wc -l

smoke-frozen: frozen
	$(SMOKE) --exe $(CURDIR)/dist/PhotoCLIP/PhotoCLIP --gui --samples $(CURDIR)/$(BIN)/python

lint: $(STAMP)
	$(BIN)/ruff check .

# mypy over photoclip/ (strict on photoclip/core; see [tool.mypy] in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_index.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_cold.py

clean:
	rm -rf $(VENV) build dist *.egg-info

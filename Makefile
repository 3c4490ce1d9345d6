# Two entry points for a fresh machine (both create .venv themselves):
#   make run    install, then open the GUI on the bundled samples with the default model
#   make test   install, then run the whole test suite (what CI runs)
# torch 2.13.0 is installed first and pinned with constraints.txt in every later pip call,
# so no dependency can pull a multi-GB CUDA build.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint bench package clean-venv lava-env

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/spikeview gui

demo: $(STAMP)
	$(BIN)/spikeview demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/spikeview bench --configs official,small --size 256x256

# one-folder PyInstaller bundle in dist/ + smoke test of the frozen app (packaging/README.md);
# before models/ is published: make package PACKAGE_ARGS=--placeholder-models;
# CI (.ci/run): make package PACKAGE_ARGS=--enforce-budgets
package: $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[package]"
	$(BIN)/python packaging/build.py $(PACKAGE_ARGS)

# Python 3.10 sidecar env for the Lava (Loihi 2 simulator) backend: .venv-lava with pinned
# lava-nc 0.10.0 + nir 1.0.8 (lava-nc does not install on 3.11); SPIKEVIEW_PY310=... picks the interpreter
lava-env: $(STAMP)
	$(BIN)/python -m spikeview.backends.lava_env

clean-venv:
	rm -rf $(VENV)

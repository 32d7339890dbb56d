# Two entry points: `make demo` runs the main job, `make test` runs every test.
# Both create .venv on first use and install the package with its dev extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test typecheck lab clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The tour: one join in-process, then three scenarios from the library (tables on
# the terminal, result.json and plots under $(DEMO_OUT)/<scenario>/).
DEMO_OUT ?= demo-out
DEMO_SCENARIOS := scenarios/happy-path-pinned.yaml scenarios/mitm-unpinned-attacker-with-token.yaml \
	scenarios/csr-storm-200-default-limits.yaml

demo: $(STAMP)
	$(BIN)/joinsim demo
	$(BIN)/joinsim run $(DEMO_SCENARIOS) --out $(DEMO_OUT)
	@echo "Tables above; results and plots (PNG, SVG) in $(DEMO_OUT)/"

# One pytest worker per core: the CSR storms of the scenario library take minutes each.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist worksteal
	$(BIN)/python -m mypy

typecheck: $(STAMP)
	$(BIN)/python -m mypy

# JupyterLab is heavy, so it is not a dev extra: installed into .venv the first time it is needed.
# Jupyter refuses to serve as root unless told to (containers often run as root).
lab: $(STAMP)
	test -x $(BIN)/jupyter-lab || $(BIN)/python -m pip install --quiet 'jupyterlab>=4,<5'
	$(BIN)/jupyter-lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_FLAGS)

clean:
	rm -rf $(VENV) build *.egg-info

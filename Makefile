# The commands the README names. Everything runs in .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Real data for models, benchmarks and the data-backed tests (tests skip when it is absent).
DATA   ?= $(if $(OCRKIT_DATA),$(OCRKIT_DATA),../shared/data)

.PHONY: install demo test bench models clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: install
	$(BIN)/python demo.py

test: install
	$(BIN)/python -m pytest -q

models: install
	OCRKIT_DATA=$(DATA) $(BIN)/python models/make_models.py

bench: install
	$(BIN)/python -m pip install -q torch==2.13.0 || echo "bench: torch not installable here; the PyTorch side is skipped"
	OCRKIT_DATA=$(DATA) $(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache plots out

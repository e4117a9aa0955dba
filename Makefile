# Two commands for a new user: `make demo` and `make test`.
# Each creates/updates the virtual environment in .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test,postgres]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/lurker demo

test: $(BIN)/.installed
	$(BIN)/ruff check pipeline spiders tests bench
	$(BIN)/python -m pytest

# Benchmarks print throughput, ratios to the bare library and peak memory (not run by CI).
bench: $(BIN)/.installed
	$(BIN)/python bench/crawl_bench.py
	$(BIN)/python bench/process_steps_bench.py
	$(BIN)/python bench/process_bench.py
	$(BIN)/python bench/themes_bench.py

clean:
	rm -rf $(VENV) .pytest_cache

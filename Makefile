# ovmer developer commands. `make test` and `make demo` work on a fresh machine: both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev,model,media,asr,data,plot,clues,train,serve,ray
STAMP  := $(VENV)/.setup-$(subst $(comma),-,$(EXTRAS))
comma  := ,
PIP    := $(BIN)/python -m pip --disable-pip-version-check
export PIP_PROGRESS_BAR := off

.PHONY: setup lint format typecheck imports test test-fast bench-smoke demo serve bench lock clean

## setup: build .venv from nothing (idempotent; a no-op when pyproject/requirements are unchanged)
setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt requirements/torch-cpu.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24"
	$(PIP) install -q -c requirements/constraints.txt -r requirements/torch-cpu.txt
	$(PIP) install -q -c requirements/constraints.txt -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.setup-*
	@touch $@

## lint: ruff (lint + format check)
lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: setup
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

## typecheck: mypy on src/
typecheck: setup
	$(BIN)/mypy

## imports: the layers and no-cycle contracts of docs/architecture.md (import-linter, pyproject.toml)
imports: setup
	$(BIN)/lint-imports

## test: setup, lint, type check, import contracts, the unit suite, then the benchmark-smoke job
test: setup lint typecheck imports
	$(BIN)/python -m pytest -q -m "not benchmark_smoke"
	$(MAKE) --no-print-directory bench-smoke

test-fast: setup
	$(BIN)/python -m pytest -q -x -m "not slow and not benchmark_smoke"

## bench-smoke: the inference, lexicon, scoring and train benchmarks run end to end on CPU, bounded (tests/benchmarks, about 1 min)
bench-smoke: setup
	$(BIN)/python -m pytest -q -m benchmark_smoke tests/benchmarks

## demo: the main job (see README): the offline clue engine on the project's own demo clip
DEMO_CLIP := src/ovmer/clues/demo/demo_clip.mp4
demo: setup
	OVMER_OFFLINE=1 $(BIN)/ovmer describe $(DEMO_CLIP) --engine clues

## serve: the HTTP API and web page on http://127.0.0.1:8000/ with the offline clue engine (docs/serve.md)
serve: setup
	$(BIN)/ovmer serve

## bench: speed figures (benchmarks/)
bench: setup
	$(BIN)/python benchmarks/scoring.py

## lock: regenerate requirements/constraints.txt from the current .venv
lock:
	(echo "# Pinned versions for the dev set-up and CI (Python 3.11, Linux x86-64). Regenerate with: make lock"; \
	 $(PIP) freeze | grep -v -E '^-e|^ovmer|^# Editable' | sed -E 's/^torch==([0-9.]+)\+cpu/torch==\1/') > requirements/constraints.txt

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

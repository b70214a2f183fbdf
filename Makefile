# Two commands for a newcomer: `make sim` and `make test`. Both build .venv
# on first use and reuse it until pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: sim test bench clean micropython32

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[sim,test]'
	touch $(STAMP)

sim: $(STAMP)
	$(PY) -m sim $(ARGS)

# The 32-bit MicroPython unix port (a board's RAM, ints and ticks), built
# once into .cache/ and brought up to date in a second or two afterwards.
# Where it cannot be built the tool says why, and its tests skip (in CI:
# fail).
micropython32: $(STAMP)
	-$(PY) -m tools.micropython32 --frozen

# The end-to-end tests spend their time waiting for real minutes: three run
# at once (tests/conftest.py keeps every other test on one worker, so the
# minutes are measured beside at most one busy process). TEST_WORKERS=0
# runs everything in this process, one after another.
TEST_WORKERS ?= 3

test: $(STAMP) micropython32
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(ARGS)

bench: $(STAMP) micropython32
	$(PY) -m bench

clean:
	rm -rf $(VENV) .cache build *.egg-info .pytest_cache .hypothesis

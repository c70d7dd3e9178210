# RecGen: `make run` and `make test` each set everything up first (see README).
PYTHON ?= python3.10
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
SETUP_STAMP := $(VENV)/.setup-stamp
RUN_ROOT ?= build/run
export TF_USE_LEGACY_KERAS := 1

.PHONY: setup browser redis run test benchmark lock protos clean

setup: $(SETUP_STAMP)

# Re-runs only when the lock file or setup.py changed: idempotent and fast otherwise.
$(SETUP_STAMP): requirements.lock setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# The full pipeline on the synthetic default data set. Its reviews are templated, so the
# `synthetic` generator preset (a small one, trainer/generator/config.py) learns them in a few epochs.
# Then serves the pushed models (`recgen serve`, in the background) and asks the running service
# for a recommendation with titles and explanations, records an event, and asks again: the list changes.
SAMPLE_USER := user_000000
run: setup
	$(BIN)/recgen pipeline run --root $(RUN_ROOT) --generator-config synthetic
	@$(BIN)/recgen serve --root $(RUN_ROOT) > $(RUN_ROOT)/serve.log 2>&1 & server=$$!; \
	  trap 'kill $$server 2>/dev/null' EXIT; \
	  echo "serving $(RUN_ROOT)/serving (log: $(RUN_ROOT)/serve.log); asking the service for user $(SAMPLE_USER):"; \
	  $(BIN)/recgen recommend --user $(SAMPLE_USER) --k 5 --explain --wait 300 && \
	  top=$$($(BIN)/recgen recommend --user $(SAMPLE_USER) --k 1 --json | $(BIN)/python -c \
	    'import json, sys; print(json.load(sys.stdin)["items"][0]["item_id"])') && \
	  $(BIN)/recgen event add --user $(SAMPLE_USER) --item $$top --type purchase && \
	  echo "after that purchase, without retraining:" && \
	  $(BIN)/recgen recommend --user $(SAMPLE_USER) --k 5

# Headless Chromium for the HTML report test: installed through apt where this user can, else
# that one test skips and says why.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
	  echo "no headless Chromium (apt-get install chromium): the HTML report screenshot test will skip"

# redis-server for the Redis event store tests: installed through apt where this user can, else
# those tests skip and say why.
redis:
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; } || \
	  echo "no redis-server (apt-get install redis-server): the Redis event store tests will skip"

# The test suite plus every docstring example of the packages (a `>>>` example is a test).
TESTED := tests recgen components trainer pipelines serving
test: setup browser redis
	$(BIN)/lint-imports
	$(BIN)/python -m pytest --durations=15 --doctest-modules $(TESTED)

# The scale curve: ExampleGen, then Transform on its output, at 100K, 1M and 5M synthetic events (wall s, events/s, peak RSS),
# then retrieval training throughput (and recommend latency) at a 10K-item catalog; the figures
# are in docs/benchmarks.md.
benchmark: setup
	$(BIN)/python benchmarks/example_gen_benchmark.py
	$(BIN)/python benchmarks/retrieval_benchmark.py --items 10000

# Re-resolves requirements.in (with requirements-overrides.txt) into requirements.lock.
lock:
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet uv==$(UV_VERSION); }
	$(BIN)/uv pip compile requirements.in --override requirements-overrides.txt \
	  --python-version 3.10 --python-platform x86_64-manylinux_2_36 \
	  --custom-compile-command "make lock" --quiet -o requirements.lock

# Regenerates the Python modules of serving/protos/*.proto (they are committed; a test checks
# they match). grpcio-tools is pinned in requirements.in.
protos: setup
	$(BIN)/python -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. serving/protos/recommendation.proto
	$(BIN)/python -m grpc_tools.protoc -I. --python_out=. serving/protos/batching_parameters.proto

clean:
	rm -rf build .pytest_cache

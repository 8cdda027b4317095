# The README's two commands are `make demo` and `make test`; everything else is for developers.
.PHONY: demo test build lint rust-test py-test stubs bench fuzz clean
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)

build:
	bash scripts/bootstrap.sh test
	$(VENV)/bin/maturin develop --release
	$(PY) -c "import pixfeed, sys; print('pixfeed', pixfeed.__version__, 'built')"

demo: build
	$(PY) -m pixfeed demo

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests benchmarks
	$(VENV)/bin/ruff format --check python tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest pixfeed._core --allowlist .stubtest-allowlist

rust-test:
	cargo test -p pixfeed-core

py-test:
	$(PY) -m pytest -q

test: build lint rust-test py-test

# The peers too (the `bench` extra, FFmpeg's libraries for SPDL); SUITE=decode|loader|...
SUITE ?= decode
bench: build
	bash scripts/bootstrap.sh test,bench
	$(PY) -m pixfeed bench --suite $(SUITE)

clean:
	cargo clean
	rm -rf $(VENV)

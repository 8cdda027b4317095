# The README's two commands are `make demo` and `make test`; everything else is for developers.
.PHONY: demo test build lint rust-test py-test stubs bench fuzz clean wheel wheel-check
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
# Portable by default: the C dependencies are compiled for baseline x86-64 and nothing passes
# -C target-cpu, so a binary built here runs on any x86-64 CPU. The one routine where
# x86-64-v3 measurably helps (the JPEG MCU decoder's BMI2 shifts) is compiled twice and picked
# at run time (crates/pixfeed-core/build.rs); libjpeg-turbo's SIMD kernels and pixfeed's own
# pick their level at run time too.

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

# Tests and doc tests; not the profiling example, which clippy --all-targets checks.
rust-test:
	cargo test -p pixfeed-core --lib --tests
	cargo test -p pixfeed-core --doc

py-test:
	$(PY) -m pytest -q

test: build lint rust-test py-test

# The peers too (the `bench` extra, FFmpeg's libraries for SPDL); SUITE=decode|loader|...
SUITE ?= decode
bench: build
	bash scripts/bootstrap.sh test,bench
	$(PY) -m benchmarks --suite $(SUITE)

# The portable manylinux wheel (abi3, CPython >= 3.10) and the sdist, into dist/ (no Docker:
# maturin links with zig); then its checks (policy, licenses, every interpreter, old CPUs).
wheel:
	bash scripts/wheel.sh

wheel-check:
	bash scripts/wheel_check.sh

clean:
	cargo clean
	rm -rf $(VENV) .venv-wheel dist

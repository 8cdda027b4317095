# The README's two commands are `make demo` and `make test`; everything else is for developers.
.PHONY: demo test build lint rust-test py-test stubs bench fuzz clean
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
# The C dependencies (libjpeg-turbo's Huffman decoder above all: ~2% faster decodes with
# BMI2 shifts) are compiled for x86-64-v3 when this machine has it (AVX2, BMI2, FMA: every
# x86-64 CPU since 2013-2015). libjpeg-turbo's SIMD kernels pick their level at run time
# either way. PIXFEED_PORTABLE=1 builds for baseline x86-64 (binaries for older CPUs); after
# switching, `cargo clean -p turbojpeg-sys` (cmake keeps its first flags).
ifeq ($(PIXFEED_PORTABLE)$(shell uname -m),x86_64)
ifeq ($(shell grep -qw avx2 /proc/cpuinfo && grep -qw bmi2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && echo v3),v3)
export CFLAGS_x86_64_unknown_linux_gnu := -march=x86-64-v3
endif
endif

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

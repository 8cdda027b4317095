#!/usr/bin/env bash
# `make wheel`: build pixfeed's portable binary wheel and its sdist into dist/, without Docker.
#
#   - one abi3 wheel (CPython >= 3.10, PyO3's limited API), manylinux_2_17 x86_64: maturin
#     links with zig's toolchain against glibc 2.17's symbols (ziglang from PyPI), so the
#     wheel runs on any Linux with glibc >= 2.17;
#   - every C dependency compiled for baseline x86-64: no -march, no -C target-cpu (the only
#     x86-64-v3 code, the MCU decoder's second build, is chosen at run time; see build.rs);
#   - python/pixfeed/THIRD_PARTY_LICENSES regenerated from Cargo.lock's crates
#     (scripts/third_party_licenses.py; committed, so that the sdist and source builds carry
#     it too: commit it when it changes);
#   - an sdist that builds from source where cargo, nasm and cmake are installed.
#
# The build tools live in their own virtualenv (.venv-wheel, git-ignored; PYTHON picks its
# interpreter) and the build in its own cargo target directory (target/wheel), so neither
# touches the development environment. TARGET names another Rust target to cross-build for
# (e.g. aarch64-unknown-linux-gnu after `rustup target add`; not tried yet).
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=.venv-wheel
TARGET=${TARGET:-x86_64-unknown-linux-gnu}
MANYLINUX=${MANYLINUX:-manylinux_2_17}
# Pinned: a new release of the build tools must not change the wheel under us.
TOOL_REQS=("maturin[zig]==1.16.0" "ziglang==0.17.1" "auditwheel==6.8.2" "abi3audit==0.0.26")

for tool in nasm cmake cargo; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "wheel: $tool not found (scripts/bootstrap.sh installs nasm and cmake)" >&2
    exit 1
  }
done

stamp=$TOOLS/.pixfeed-tools
if [ ! -x $TOOLS/bin/python ] || [ "$(cat $stamp 2>/dev/null)" != "${TOOL_REQS[*]}" ]; then
  echo "wheel: creating $TOOLS (${TOOL_REQS[*]})"
  "${PYTHON:-python3}" -m venv --clear $TOOLS
  $TOOLS/bin/pip install -q --upgrade pip
  $TOOLS/bin/pip install -q "${TOOL_REQS[@]}"
  echo "${TOOL_REQS[*]}" > $stamp
fi
export PATH="$PWD/$TOOLS/bin:$PATH"

# Portable: nothing from the environment may raise the CPU level of the C or Rust code.
unset CFLAGS CXXFLAGS RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
unset CFLAGS_x86_64_unknown_linux_gnu CXXFLAGS_x86_64_unknown_linux_gnu
unset CFLAGS_aarch64_unknown_linux_gnu CXXFLAGS_aarch64_unknown_linux_gnu
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/wheel}

python3 scripts/third_party_licenses.py python/pixfeed/THIRD_PARTY_LICENSES --target "$TARGET"

mkdir -p dist
version=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c "import json,sys; print(next(p['version'] for p in json.load(sys.stdin)['packages'] if p['name']=='pixfeed-py'))")
arch=${TARGET%%-*}
rm -f dist/pixfeed-"$version"-*"$arch".whl
target_args=()
# (--target only for a cross build: it moves the build into its own directory under target/)
[ "$TARGET" = "$(uname -m)-unknown-linux-gnu" ] || target_args=(--target "$TARGET")
maturin build --release --locked --zig "${target_args[@]}" --compatibility "$MANYLINUX" \
  --features pyo3/abi3-py310 --out dist
if [ "$TARGET" = x86_64-unknown-linux-gnu ]; then
  rm -f dist/pixfeed-"$version".tar.gz
  maturin sdist --out dist
fi
ls -l dist/pixfeed-"$version"*

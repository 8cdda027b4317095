#!/usr/bin/env bash
# `make wheel-check`: check the wheel that `make wheel` left in dist/, as a user gets it.
#
#   1. the file: under 12 MB; carries pixfeed/_core (abi3), _core.pyi, py.typed and a
#      THIRD_PARTY_LICENSES equal to a fresh one (scripts/third_party_licenses.py);
#   2. `auditwheel show`: the manylinux policy of its name, no external library beyond the
#      policy's allow-list; `abi3audit --strict`: only the limited API of CPython 3.10;
#   3. for every CPython it claims (3.10-3.13, found under `pyenv root` or on PATH): installed
#      into a fresh virtualenv (numpy from PyPI) and smoke-tested (scripts/wheel_smoke.py:
#      every fixture format decodes to Pillow's pixels, a resize, a Loader epoch, nms, the
#      `pixfeed` command); on 3.11 also a part of the test suite, run against the wheel;
#   4. under `qemu-x86_64 -cpu Westmere` (a 2010 CPU: no AVX, no BMI2; Debian's qemu-user,
#      installed when missing) the JPEG and PNG fixtures decode to the same pixels as natively,
#      as they do natively with the MCU decoder forced to its baseline build.
# Needs the test virtualenv (.venv, scripts/bootstrap.sh) for Pillow's reference pixels and
# the test suite's libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.venv-wheel
WORK=${WHEEL_CHECK_DIR:-$ROOT/target/wheel-check}
MAX_BYTES=$((12 * 1024 * 1024))
PYTHONS=(3.10 3.11 3.12 3.13)
t0=$SECONDS
say() { echo "wheel-check [$((SECONDS - t0))s]: $*"; }
fail() {
  echo "wheel-check: FAIL: $*" >&2
  exit 1
}

[ -x "$TOOLS/bin/auditwheel" ] || fail "no $TOOLS (run make wheel first)"
version=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c "import json,sys; print(next(p['version'] for p in json.load(sys.stdin)['packages'] if p['name']=='pixfeed-py'))")
arch=$(uname -m)
mapfile -t wheels < <(ls dist/pixfeed-"$version"-cp310-abi3-*manylinux_*_"$arch".whl 2>/dev/null)
[ ${#wheels[@]} -eq 1 ] ||
  fail "expected one dist/pixfeed-$version-cp310-abi3-*manylinux_*_$arch.whl, found ${#wheels[@]} (make wheel)"
WHL=$ROOT/${wheels[0]}
name=$(basename "$WHL")
# The PEP 600 tag (a manylinux_2_17 wheel is also tagged manylinux2014, its legacy alias).
policy=$(echo "$name" | grep -oE "manylinux_[0-9]+_[0-9]+_$arch" | head -n 1)
policy=${policy%_"$arch"}
size=$(stat -c %s "$WHL")
say "$name: $size bytes, policy $policy"
[ "$size" -lt $MAX_BYTES ] || fail "$name is $size bytes (limit $MAX_BYTES)"

rm -rf "$WORK"
mkdir -p "$WORK"

# 1. contents
python3 scripts/third_party_licenses.py "$WORK/THIRD_PARTY_LICENSES" --target "$arch-unknown-linux-gnu" >/dev/null
python3 - "$WHL" "$WORK/THIRD_PARTY_LICENSES" <<'PYEOF'
import sys, zipfile
whl, fresh = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
names = set(zipfile.ZipFile(whl).namelist())
need = {"pixfeed/_core.abi3.so", "pixfeed/_core.pyi", "pixfeed/py.typed",
        "pixfeed/THIRD_PARTY_LICENSES", "pixfeed/__init__.py"}
missing = need - names
if missing:
    sys.exit(f"wheel-check: FAIL: the wheel lacks {sorted(missing)}")
stray = sorted(n for n in names if n.endswith(".so") and n != "pixfeed/_core.abi3.so")
if stray:
    sys.exit(f"wheel-check: FAIL: other compiled libraries in the wheel: {stray}")
shipped = zipfile.ZipFile(whl).read("pixfeed/THIRD_PARTY_LICENSES").decode()
if shipped != fresh:
    sys.exit("wheel-check: FAIL: THIRD_PARTY_LICENSES is stale (Cargo.lock changed? make wheel)")
for needle in ("libjpeg-turbo", "Independent JPEG Group", "mimalloc", "pyo3 ", "numpy "):
    if needle not in shipped:
        sys.exit(f"wheel-check: FAIL: THIRD_PARTY_LICENSES does not mention {needle!r}")
print(f"wheel-check: contents ok ({len(names)} files; THIRD_PARTY_LICENSES current)")
PYEOF

# 1b. the sdist: everything a source build needs (pip builds it with maturin, cargo, nasm, cmake)
SDIST=dist/pixfeed-$version.tar.gz
[ -f "$SDIST" ] || fail "no $SDIST (make wheel)"
python3 - "$SDIST" "$version" <<'PYEOF'
import sys, tarfile
sdist, version = sys.argv[1], sys.argv[2]
top = f"pixfeed-{version}/"
names = {n[len(top):] for n in tarfile.open(sdist).getnames() if n.startswith(top)}
need = {"pyproject.toml", "Cargo.toml", "Cargo.lock", "README.md",
        "crates/pixfeed-core/build.rs", "crates/pixfeed-core/csrc/jpeg_huff.c",
        "crates/pixfeed-core/csrc/jpeg_huff_dispatch.c", "crates/pixfeed-core/csrc/jpeg_shim.c",
        "crates/pixfeed-py/src/lib.rs", "python/pixfeed/__init__.py", "python/pixfeed/_core.pyi",
        "python/pixfeed/py.typed", "python/pixfeed/THIRD_PARTY_LICENSES"}
missing = sorted(need - names)
if missing:
    sys.exit(f"wheel-check: FAIL: the sdist lacks {missing}")
binaries = sorted(n for n in names if n.endswith((".so", ".whl")))
if binaries:
    sys.exit(f"wheel-check: FAIL: the sdist carries binaries {binaries}")
print(f"wheel-check: sdist ok ({len(names)} files)")
PYEOF

# 2. policy and ABI
"$TOOLS/bin/auditwheel" show "$WHL" >"$WORK/auditwheel.txt" 2>&1 || {
  cat "$WORK/auditwheel.txt"
  fail "auditwheel show failed"
}
tr '\n' ' ' <"$WORK/auditwheel.txt" | tr -s ' ' |
  grep -q "consistent with the following platform tag: \"${policy}_$arch\"" || {
  cat "$WORK/auditwheel.txt"
  fail "auditwheel does not find $name consistent with ${policy}_$arch"
}
if tr '\n' ' ' <"$WORK/auditwheel.txt" | tr -s ' ' | grep -q "external shared libraries are required"; then
  cat "$WORK/auditwheel.txt"
  fail "the wheel needs libraries outside the manylinux allow-list"
fi
say "auditwheel: ${policy}_$arch, only allow-listed system libraries"
"$TOOLS/bin/abi3audit" --strict --report "$WHL" >"$WORK/abi3audit.txt" 2>&1 || {
  cat "$WORK/abi3audit.txt"
  fail "abi3audit"
}
say "abi3audit: limited API of CPython 3.10 only"

# 3. every interpreter the wheel claims
# Pillow's reference pixels and the test suite's libraries come from the test virtualenv
# (WHEEL_CHECK_TEST_PY: another interpreter that has them).
TEST_PY=${WHEEL_CHECK_TEST_PY:-}
if [ -z "$TEST_PY" ]; then
  [ -x .venv/bin/python ] || bash scripts/bootstrap.sh test
  TEST_PY=.venv/bin/python
fi
FX=$WORK/fixtures
"$TEST_PY" scripts/wheel_smoke.py reference "$FX" >/dev/null
find_python() {
  local v=$1 p
  if command -v pyenv >/dev/null 2>&1 || [ -d "${PYENV_ROOT:-$HOME/.pyenv}/versions" ]; then
    local root
    root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    for p in $(ls -d "$root"/versions/"$v".* 2>/dev/null | sort -V -r); do
      [ -x "$p/bin/python$v" ] && { echo "$p/bin/python$v"; return; }
    done
  fi
  command -v "python$v" 2>/dev/null || true
}
for v in "${PYTHONS[@]}"; do
  py=$(find_python "$v")
  [ -n "$py" ] || fail "no CPython $v found (pyenv root or PATH): the wheel claims it"
  env_dir=$WORK/venv-$v
  "$py" -m venv "$env_dir"
  "$env_dir/bin/python" -m pip install -q --disable-pip-version-check "$WHL"
  (cd "$WORK" && "$env_dir/bin/python" "$ROOT/scripts/wheel_smoke.py" smoke "$FX") |
    sed "s/^/  [$v] /" || fail "the smoke test on CPython $v"
  (cd "$WORK" && "$env_dir/bin/pixfeed" info --json >"$WORK/info-$v.json") ||
    fail "'pixfeed info' failed on $v"
  say "CPython $v ($("$env_dir/bin/python" -c 'import sys; print(sys.version.split()[0])')): smoke ok"
done

# 3b. part of the test suite on 3.11 against the installed wheel: the wheel's venv sees the
# test venv's packages after its own (a path line in a .pth file; the development build's
# own .pth inside that directory is not processed, so `import pixfeed` finds the wheel).
dev_site=$("$TEST_PY" -c "import sysconfig; print(sysconfig.get_path('purelib'))")
dev_ver=$("$TEST_PY" -c "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')")
suite_env=$WORK/venv-$dev_ver
if [ -d "$suite_env" ]; then
  site=$("$suite_env/bin/python" -c "import sysconfig; print(sysconfig.get_path('purelib'))")
  echo "$dev_site" >"$site/zz_pixfeed_test_deps.pth"
  where=$(cd "$WORK" && "$suite_env/bin/python" -c "import pixfeed; print(pixfeed.__file__)")
  case "$where" in "$suite_env"/*) ;; *) fail "the suite would test $where, not the wheel" ;; esac
  # Decoding (every fixture and mode against Pillow, damaged files), probe, resize, nms, the
  # loader, and the two builds of the MCU decoder.
  if ! "$suite_env/bin/python" -m pytest -q -p no:cacheprovider -x \
    tests/decode/test_decode_reference.py tests/decode/test_decode_errors.py \
    tests/decode/test_probe.py tests/resize/test_resize_api.py \
    tests/detect/test_detect_nms.py tests/loader/test_loader.py \
    tests/decode/test_jpeg_decoder_build.py >"$WORK/suite.log" 2>&1; then
    tail -n 60 "$WORK/suite.log"
    fail "the test suite against the wheel on $dev_ver (log: $WORK/suite.log)"
  fi
  say "CPython $dev_ver: $(tail -n 1 "$WORK/suite.log" | tr -d '=') against the wheel"
else
  fail "no wheel venv for the test venv's Python $dev_ver (not among ${PYTHONS[*]})"
fi

# 4. an old CPU: same pixels under qemu-x86_64 -cpu Westmere (no AVX/AVX2/BMI2/FMA)
if [ "$arch" = x86_64 ]; then
  if ! command -v qemu-x86_64 >/dev/null 2>&1; then
    echo "wheel-check: installing qemu-user (apt)"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-user >/dev/null
  fi
  env_dir=$WORK/venv-3.11
  [ -d "$env_dir" ] || env_dir=$WORK/venv-${PYTHONS[0]}
  run_hashes() { (cd "$WORK" && "$@" "$ROOT/scripts/wheel_smoke.py" hashes "$FX" "$HASH_OUT"); }
  HASH_OUT=$WORK/hashes-native.json run_hashes "$env_dir/bin/python" |
    sed 's/^/  [native] /' || fail "decoding the fixtures natively"
  PIXFEED_JPEG_HUFF=baseline HASH_OUT=$WORK/hashes-baseline.json run_hashes "$env_dir/bin/python" |
    sed 's/^/  [native, baseline MCU decoder] /' || fail "decoding with the baseline MCU decoder"
  # qemu-user opens the venv's python (a symlink) and passes that path as argv[0], so
  # Python finds its venv as natively.
  HASH_OUT=$WORK/hashes-westmere.json run_hashes qemu-x86_64 -cpu Westmere "$env_dir/bin/python" |
    tee "$WORK/westmere.log" | sed 's/^/  [qemu Westmere] /' ||
    fail "decoding under qemu-x86_64 -cpu Westmere (an illegal instruction?)"
  grep -q "jpeg decoder baseline" "$WORK/westmere.log" ||
    fail "under qemu -cpu Westmere the MCU decoder's baseline build was not chosen"
  cmp -s "$WORK/hashes-native.json" "$WORK/hashes-baseline.json" ||
    fail "the baseline MCU decoder gives other pixels than the one chosen natively"
  cmp -s "$WORK/hashes-native.json" "$WORK/hashes-westmere.json" ||
    fail "pixels under qemu -cpu Westmere differ from native (see $WORK/hashes-*.json)"
  n=$(python3 -c "import json, sys; print(len(json.load(open(sys.argv[1]))))" "$WORK/hashes-native.json")
  say "qemu-x86_64 -cpu Westmere: $n JPEG/PNG fixtures, same pixels as native"
fi
say "all checks passed for $name"

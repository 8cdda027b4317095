#!/usr/bin/env bash
# Install what building and testing pixfeed needs on a fresh Debian machine with cargo,
# CPython 3.11 + pip and gcc: nasm and cmake (libjpeg-turbo's SIMD build), a virtualenv
# at .venv with maturin and the test tools. Idempotent and quiet when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Disk: a fresh .venv takes about 7 GB (and pip's downloads room while it installs), the
# cargo builds of `make test` and of the wheel about 1 GB, the wheel's tools and checks 1 GB
# (CI on a clean clone ends at about 9 GB); with the venv in place, rebuilds need less.
# PIXFEED_MIN_FREE_GB overrides the threshold (0 turns the check off).
need_gb=${PIXFEED_MIN_FREE_GB:-$([ -x .venv/bin/python ] && echo 6 || echo 15)}
free_gb=$(($(df -Pk . | awk 'NR == 2 {print $4}') / 1024 / 1024))
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "bootstrap: only $free_gb GB free under $PWD; building and testing pixfeed needs about" \
    "$need_gb GB (.venv, target/). Free some space, or set PIXFEED_MIN_FREE_GB to lower" \
    "this check." >&2
  exit 1
fi

need_apt=()
command -v nasm >/dev/null 2>&1 || need_apt+=(nasm)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
case ",${1:-test}," in
  *,bench,*)
    # SPDL (a loader peer) links FFmpeg 5.1's libraries; Debian 12 ships them.
    # PyTurboJPEG (a decode peer) loads the system libturbojpeg.
    for lib in libavutil57 libavcodec59 libavformat59 libavfilter8 libswscale6 \
               libswresample4 libavdevice59 libturbojpeg0; do
      dpkg -s "$lib" >/dev/null 2>&1 || need_apt+=("$lib")
    done
    ;;
esac
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need_apt[*]} (apt)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.pixfeed-extras
want="${1:-test}"
if [ ! -f "$stamp" ] || ! grep -qx "$want" "$stamp" || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing python packages for [$want]"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q "maturin>=1.7,<2"
  # The extras of pyproject.toml, without building pixfeed itself (maturin develop does).
  .venv/bin/python - "$want" <<'PYEOF' > .venv/requirements.txt
import sys, tomllib
proj = tomllib.load(open("pyproject.toml", "rb"))["project"]
reqs = list(proj["dependencies"])
for extra in sys.argv[1].split(","):
    if extra:
        reqs += proj["optional-dependencies"][extra]
print("\n".join(reqs))
PYEOF
  if [ "$want" = test ]; then
    .venv/bin/pip install -q -r .venv/requirements.txt
  else
    # Peers one by one: one that cannot be installed is reported missing by the benchmarks,
    # it does not stop the others.
    while IFS= read -r req; do
      [ -n "$req" ] || continue
      .venv/bin/pip install -q "$req" ||
        echo "bootstrap: could not install '$req' (python -m benchmarks reports it missing)"
    done < .venv/requirements.txt
  fi
  echo "$want" >> "$stamp"
fi

#!/usr/bin/env bash
# Create .venv (if needed) and install the Python requirements into it.
# Usage: bash scripts/setup.sh [requirements file]   (default: requirements.txt)
# A new .venv takes about 3 GB (TensorFlow alone 1.9 GB). pip keeps no download
# cache here, which would hold the wheels a second time while installing;
# COLORLAB_PIP_CACHE=1 keeps one. (pip reads any PIP_NO_CACHE_DIR value, even 0,
# as "no cache", so that variable cannot turn the cache back on.)
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
python=${PYTHON:-python3}
if [[ "${COLORLAB_PIP_CACHE:-0}" != 1 ]]; then export PIP_NO_CACHE_DIR=1; fi
need_mb=4000
# The cheap df check comes first, so a disk with room costs no Python start.
# Then find_spec only looks for the package: importing TensorFlow would add
# seconds to every start of the dashboard and the tests.
free_mb=$(df -Pm . 2>/dev/null | awk 'NR == 2 {print $4}') || true
if [[ -n "$free_mb" && "$free_mb" -lt "$need_mb" ]] &&
  ! .venv/bin/python -c "import importlib.util, sys
sys.exit(importlib.util.find_spec('tensorflow') is None)" >/dev/null 2>&1; then
  echo "setup.sh: only ${free_mb} MB free on the disk of $(pwd);" \
    "installing the requirements takes about ${need_mb} MB. Free some space," \
    "or pip will stop with 'No space left on device'." >&2
fi
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r "$req"

#!/usr/bin/env bash
# Create .venv (if needed) and install the Python requirements into it.
# Usage: bash scripts/setup.sh [requirements file]   (default: requirements.txt)
# A new .venv takes about 3 GB (TensorFlow alone 1.9 GB); pip keeps no download
# cache here, which would double that while installing. Set PIP_NO_CACHE_DIR=0
# to keep one.
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
python=${PYTHON:-python3}
export PIP_NO_CACHE_DIR="${PIP_NO_CACHE_DIR:-1}"
need_mb=4000
if ! .venv/bin/python -c "import tensorflow" >/dev/null 2>&1; then
  free_mb=$(df -Pm . | awk 'NR == 2 {print $4}')
  if [[ -n "$free_mb" && "$free_mb" -lt "$need_mb" ]]; then
    echo "setup.sh: only ${free_mb} MB free on the disk of $(pwd);" \
      "installing the requirements takes about ${need_mb} MB. Free some space," \
      "or pip will stop with 'No space left on device'." >&2
  fi
fi
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r "$req"

#!/usr/bin/env bash
# Set up everything the tests need, then run every test:
#   bash scripts/test.sh [pytest options]
# - the Python requirements (requirements-dev.txt) in .venv;
# - Debian's chromium for the browser test (installed with apt-get when missing;
#   Playwright never downloads a browser of its own);
# - the photo folder: $COLORLAB_DATA, else ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
if [[ ! -x /usr/bin/chromium ]]; then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
fi
if [[ -z "${COLORLAB_DATA:-}" && -d ../shared/data ]]; then
  export COLORLAB_DATA="$(cd ../shared/data && pwd)"
fi
exec .venv/bin/python -m pytest "$@"

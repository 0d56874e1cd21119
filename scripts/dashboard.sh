#!/usr/bin/env bash
# Set up (first run only) and start the dashboard: bash scripts/dashboard.sh [streamlit options]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
# Two malloc arenas: a server runs a thread per visitor's script run, and with glibc's default (up to 8 per
# core) the memory of visitors who left stays split over many arenas instead of going back to the system.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec .venv/bin/python -m streamlit run dashboard.py "$@"

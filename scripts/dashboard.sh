#!/usr/bin/env bash
# Set up (first run only) and start the dashboard: bash scripts/dashboard.sh [streamlit options]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/python -m streamlit run dashboard.py "$@"

#!/usr/bin/env bash
# Install haiku-lsp with its test extras into .venv (created if missing) and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
.venv/bin/ruff check server tests $(ls -d bench 2>/dev/null)
exec .venv/bin/python -m pytest -q "$@"

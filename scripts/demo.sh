#!/usr/bin/env bash
# Install haiku-lsp into .venv (created if missing) and run the demo: a real LSP session over stdio
# on a sample file, printing the completion, hover and code actions the server answered.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/haiku-lsp demo "$@"

#!/usr/bin/env bash
# Install haiku-lsp with its test extras into .venv (created if missing) and run every test:
# ruff, the Python test suite, and the VS Code extension's type check and unit tests (when npm exists).
# Arguments go to pytest: `scripts/test.sh tests/unit` runs the unit tests only (seconds), `tests/e2e` the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
.venv/bin/ruff check server tests $(ls -d bench 2>/dev/null)
.venv/bin/python -m mypy --no-error-summary --config-file pyproject.toml server/haiku_lsp
if [ -d bench ]; then
  # The benchmarks and the LSP client harness they share with the tests (tests/harness/).
  (cd bench && ../.venv/bin/python -m mypy --no-error-summary --config-file ../pyproject.toml ./*.py ../tests/harness)
fi
if command -v npm >/dev/null 2>&1; then
  (cd vscode-extension && npm ci --no-audit --no-fund --loglevel=error && npm run --silent typecheck && npm test --silent)
else
  echo "npm not found: skipping the VS Code extension's tests" >&2
fi
exec .venv/bin/python -m pytest -q "$@"

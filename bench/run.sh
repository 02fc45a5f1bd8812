#!/usr/bin/env bash
# One command: benchmark `alembic-lsp --check` against alembic heads, zdm, alembic-guard and
# ruff on real corpora and generated trees, and print a Markdown table.
#
# usage: bench/run.sh [--quick] [--runs N] [--tools LIST] [--no-build] [--out DIR]
#   --quick       3 corpora (superset, zenml, airflow-core) + generated 1k/10k, 3 runs
#                 (about 2-3 minutes); default: all 10 corpora + 1k/10k, 5 runs (< 10 min)
#   --runs N      timed runs per cell after the warm-up
#   --tools LIST  comma-separated subset of: alembic-lsp,alembic heads,zdm,alembic-guard,ruff E9
#   --build       cargo build --release first (default: use the existing binary)
#   --out DIR     where results.md / results.json go (default: $cache/results)
# env: ALEMBIC_LSP_BIN (default target/release/alembic-lsp),
#      ALEMBIC_LSP_BENCH_DIR (default ~/.cache/alembic-lsp-bench: venv, generated trees,
#      working copies, results), ALEMBIC_CORPUS_DIR (default ~/.cache/alembic-corpus).
# Needs the network the first time (pip install of the anchors, pip download of corpora).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || dirname "$here")
shared=${ALEMBIC_LSP_SHARED:-$root/../shared}
cache=${ALEMBIC_LSP_BENCH_DIR:-$HOME/.cache/alembic-lsp-bench}
export ALEMBIC_LSP_BENCH_VENV=${ALEMBIC_LSP_BENCH_VENV:-$cache/venv}
bin=${ALEMBIC_LSP_BIN:-$root/target/release/alembic-lsp}

quick=0 runs="" tools="" build=0 out=$cache/results
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --runs) runs=$2; shift ;;
    --tools) tools=$2; shift ;;
    --build) build=1 ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$build" = 1 ]; then
  cargo build --release --manifest-path "$root/Cargo.toml" --bin alembic-lsp
fi
if [ ! -x "$bin" ]; then
  echo "run.sh: no binary at $bin (run with --build, or set ALEMBIC_LSP_BIN)" >&2
  exit 2
fi

# 1. anchors
if [ ! -x "$ALEMBIC_LSP_BENCH_VENV/bin/zdm" ] || [ ! -x "$ALEMBIC_LSP_BENCH_VENV/bin/alembic" ] \
   || [ ! -x "$ALEMBIC_LSP_BENCH_VENV/bin/alembic-guard" ] || [ ! -x "$ALEMBIC_LSP_BENCH_VENV/bin/ruff" ] \
   || [ ! -x /usr/bin/time ]; then
  bash "$here/setup.sh" >&2
fi

# 2. real corpora
if [ "$quick" = 1 ]; then
  names=(superset zenml airflow-core)
  runs=${runs:-3}
else
  names=(superset zenml airflow-core neutron prefect-postgresql ckan octavia mlflow keystone nova-main)
  runs=${runs:-5}
fi
corpus_args=()
while IFS= read -r line; do
  [ -n "$line" ] && corpus_args+=(--corpus "$line")
done < <(bash "$shared/corpus/fetch.sh" "${names[@]}")

# 3. generated trees (deterministic: regenerated only when missing or different)
gen_args=()
for n in 1000 10000; do
  d=$cache/gen/n$n
  big=0; [ "$n" = 10000 ] && big=1000
  if ! python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(0 if (d["n"], d["seed"], d["big_lines"]) == (int(sys.argv[2]), 1, int(sys.argv[3])) else 1)' \
       "$d/gen.json" "$n" "$big" 2>/dev/null || [ "$here/gen.py" -nt "$d/gen.json" ]; then
    echo "bench: generating $n migrations in $d" >&2
    python3 "$here/gen.py" "$d" -n "$n" --seed 1 --big-lines "$big" --force >/dev/null
  fi
  label=generated-$((n / 1000))k
  gen_args+=(--generated "$label=$d")
done

# 4. measure
mkdir -p "$out"
extra=()
[ -n "$tools" ] && extra+=(--tools "$tools")
python3 "$here/bench.py" --bin "$bin" --venv "$ALEMBIC_LSP_BENCH_VENV" --work "$cache/work" \
  --truth "$shared/corpus/truth" "${corpus_args[@]}" "${gen_args[@]}" --runs "$runs" \
  --json "$out/results.json" --markdown "$out/results.md" --lsp "$cache/gen/n10000" "${extra[@]}"
echo "bench: results in $out/results.md and $out/results.json" >&2

#!/usr/bin/env bash
# End-to-end test of the VS Code extension in a real VS Code (code-server, web) driven by
# Playwright in Debian's Chromium. Slow (installs code-server on first run, ~10 min).
#   tests/e2e/vscode/run.sh
# Needs: node 20, /usr/bin/chromium, the server binary (ALEMBIC_LSP_BIN, else
# target/release/alembic-lsp, else built). Env: CODE_SERVER_DIR (code-server install,
# default ~/.cache/alembic-lsp-e2e/code-server), SCREENSHOT (default docs/img/vscode-quickfix.png).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cs_version=4.100.3
cs_dir="${CODE_SERVER_DIR:-$HOME/.cache/alembic-lsp-e2e/code-server}"
cs="$cs_dir/node_modules/.bin/code-server"

[[ -x /usr/bin/chromium ]] || { echo "error: install Debian's chromium (apt-get install -y chromium)" >&2; exit 2; }

if [[ ! -x "$cs" ]] || [[ "$("$cs" --version 2>/dev/null | head -n1)" != "$cs_version "* ]]; then
  # code-server builds native modules: needs libkrb5-dev libx11-dev libxkbfile-dev
  # libsecret-1-dev pkg-config ripgrep. Its postinstall would download ripgrep: seed the cache.
  command -v rg >/dev/null || { echo "error: install ripgrep (and the -dev packages above)" >&2; exit 2; }
  rg_cache="$(node -p "require('os').tmpdir()")/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$rg_cache" "$cs_dir"
  tar czf "$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
  # allowScripts: npm 11 runs dependency install scripts only when allowed.
  echo '{"private": true, "allowScripts": {"code-server": true, "argon2": true}}' >"$cs_dir/package.json"
  (cd "$cs_dir" && npm_config_yes=true npm_config_unsafe_perm=true \
    npm install --no-save --no-audit --no-fund "code-server@$cs_version")
fi

bin="${ALEMBIC_LSP_BIN:-}"
if [[ -z "$bin" ]]; then
  bin="$repo/target/release/alembic-lsp"
  [[ -x "$bin" ]] || cargo build --release --manifest-path "$repo/Cargo.toml" --bin alembic-lsp
fi

cd "$repo"
[[ -d node_modules/playwright-core && -d node_modules/@vscode/vsce ]] || npm ci
ALEMBIC_LSP_BIN="$bin" npm run package
vsix="$repo/editors/vscode/alembic-lsp-linux-x64.vsix"

work="$(cd "$(mktemp -d)" && pwd -P)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cp -r "$repo/tests/e2e/fixture" "$work/project"
mkdir -p "$work/data/User"
cat >"$work/data/User/settings.json" <<'JSON'
{
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "security.workspace.trust.enabled": false,
  "window.restoreWindows": "none",
  "editor.minimap.enabled": false,
  "editor.fontSize": 15,
  "chat.disableAIFeatures": true
}
JSON
cs_args=(--config "$work/config.yaml" --user-data-dir "$work/data" --extensions-dir "$work/extensions")
printf 'auth: none\ncert: false\n' >"$work/config.yaml"

"$cs" "${cs_args[@]}" --install-extension "$vsix"

port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
# No PATH entry for the server and no ALEMBIC_LSP_PATH: the extension must use its bundled copy.
env -u ALEMBIC_LSP_PATH "$cs" "${cs_args[@]}" --auth none --bind-addr "127.0.0.1:$port" \
  --disable-telemetry --disable-update-check --disable-workspace-trust \
  "$work/project" >"$work/code-server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" && break
  sleep 0.3
done

status=0
URL="http://127.0.0.1:$port/?folder=$work/project" PROJECT="$work/project" \
  SCREENSHOT="${SCREENSHOT:-$repo/docs/img/vscode-quickfix.png}" ARTIFACTS="$work" \
  timeout 300 node "$here/test.mjs" || status=$?
if [[ $status -eq 0 ]]; then
  if grep -rqs "(bundled with the extension)" "$work/data/logs"; then
    echo "ok: the server was the binary bundled in the .vsix"
  else
    echo "error: the extension did not start its bundled server" >&2
    status=1
  fi
fi
if [[ $status -ne 0 ]]; then
  echo "--- code-server log" >&2
  tail -n 50 "$work/code-server.log" >&2
  find "$work/data/logs" -name '*Alembic*' -exec sh -c 'echo "--- $1"; tail -n 50 "$1"' _ {} \; >&2 || true
  mkdir -p /tmp/alembic-lsp-e2e-vscode && cp "$work"/*.png /tmp/alembic-lsp-e2e-vscode/ 2>/dev/null || true
  echo "failure screenshots (if any): /tmp/alembic-lsp-e2e-vscode/" >&2
fi
exit $status

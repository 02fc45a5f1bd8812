// Copies the server binary into bundled/ so that `vsce package` puts it in the .vsix.
// Source: $ALEMBIC_LSP_BIN, else <repo>/target/release/alembic-lsp (cargo build --release).
import { chmodSync, copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const extension = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const exe = process.platform === "win32" ? "alembic-lsp.exe" : "alembic-lsp";
const source =
  process.env.ALEMBIC_LSP_BIN ?? join(extension, "..", "..", "target", "release", exe);

if (!existsSync(source)) {
  console.error(`bundle-server: ${source} does not exist; run \`cargo build --release\` first.`);
  process.exit(1);
}
mkdirSync(join(extension, "bundled"), { recursive: true });
const target = join(extension, "bundled", exe);
copyFileSync(source, target);
chmodSync(target, 0o755);
console.log(`bundle-server: ${source} -> ${target}`);

//! The language server (tower-lsp). The only part of the tool that knows
//! about LSP types.

/// Runs the server on stdin/stdout until the client says `exit`.
pub fn run_stdio() {
    eprintln!("alembic-lsp: the language server is not built yet");
}

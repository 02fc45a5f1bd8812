use clap::Parser;

use alembic_lsp::cli::{self, Args};

/// Parsing allocates and frees many small nodes; glibc's allocator spent
/// about a fifth of `--check`'s time doing so.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Tree-sitter's C code allocates through its own hooks: the same
    // allocator, set before any tree exists.
    // SAFETY: nothing has allocated through tree-sitter yet (this is the
    // first statement), and the four functions are a matching set.
    unsafe {
        tree_sitter::set_allocator(
            Some(libmimalloc_sys::mi_malloc),
            Some(libmimalloc_sys::mi_calloc),
            Some(libmimalloc_sys::mi_realloc),
            Some(libmimalloc_sys::mi_free),
        );
    }
    let args = Args::parse();
    let result = if let Some(code) = &args.explain {
        cli::explain(code).map(|()| 0)
    } else if args.list_rules {
        cli::list_rules().map(|()| 0)
    } else if args.check {
        cli::check(&args)
    } else {
        alembic_lsp::lsp::run_stdio();
        Ok(0)
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(cli::Fatal(message)) => {
            eprintln!("alembic-lsp: error: {message}");
            std::process::exit(2);
        }
    }
}

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
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: libmimalloc_sys::mi_malloc,
            calloc: libmimalloc_sys::mi_calloc,
            realloc: libmimalloc_sys::mi_realloc,
            free: libmimalloc_sys::mi_free,
        }));
    }
    no_transparent_huge_pages();
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

/// Turns transparent huge pages off for this process. mimalloc reserves
/// its arena with `madvise(MADV_HUGEPAGE)`, and each first touch of a fresh
/// 2 MB page then zeroes all of it: a keystroke that needed a few new pages
/// took 10–40 ms instead of 5, and `--check` spent 10 % of its time in the
/// kernel. With 4 KB pages: keystroke max ~6 ms, 10–40 % less memory (see
/// docs/performance.md). The flag is per process and overrides the advice.
fn no_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and only sets
    // a flag on this process; a failure (an old kernel) changes nothing.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

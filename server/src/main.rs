use clap::Parser;

use alembic_lsp::cli::{self, Args};

fn main() {
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

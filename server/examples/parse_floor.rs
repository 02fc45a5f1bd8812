//! The floor under `--check`'s time: read every `.py` file below a folder
//! and parse it with tree-sitter-python, nothing else, on every core.
//! `cargo run --release --example parse_floor -- DIR` (see docs/performance.md).

use std::time::Instant;

use rayon::prelude::*;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: parse_floor DIR");
    let mut paths = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "py") {
                paths.push(p);
            }
        }
    }
    let started = Instant::now();
    let texts: Vec<String> = paths
        .par_iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    let read = started.elapsed();
    let bytes: usize = texts.iter().map(String::len).sum();
    let parsing = Instant::now();
    let nodes: usize = texts
        .par_iter()
        .map(|t| {
            alembic_lsp::syntax::parse(t, None)
                .root_node()
                .descendant_count()
        })
        .sum();
    let parse = parsing.elapsed();
    println!(
        "{} files, {:.1} MB: read {:.0} ms, parse {:.0} ms on {} threads ({nodes} nodes)",
        paths.len(),
        bytes as f64 / 1e6,
        read.as_secs_f64() * 1e3,
        parse.as_secs_f64() * 1e3,
        rayon::current_num_threads()
    );
}

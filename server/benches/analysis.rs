//! Where a keystroke's time goes, piece by piece: `cargo bench -p alembic-lsp`.
//! The language server's end-to-end latency is measured by
//! `bench/lsp_latency.py`; this splits it into parsing, incremental
//! reparsing, building the model, the per-file rules and the graph.

use std::hint::black_box;

use alembic_lsp::config::Config;
use alembic_lsp::migration::MigrationFile;
use alembic_lsp::project::{self, FileInput};
use alembic_lsp::syntax;
use criterion::{criterion_group, criterion_main, Criterion};
use tree_sitter::{InputEdit, Point};

/// A 1,054-line migration written by `bench/gen.py --big-lines 1000`.
const BIG: &str = include_str!("../../tests/fixtures/bench/big_migration.py");

fn input(file: &MigrationFile) -> FileInput<'_> {
    FileInput {
        name: "big_migration.py",
        display: "big_migration.py".into(),
        migration: file,
        read_error: None,
    }
}

/// Inserts `x` after the first `op.` of `upgrade()`: one keystroke.
fn keystroke(text: &str) -> (String, InputEdit) {
    let at = text.find("def upgrade").expect("has upgrade()");
    let at = at + text[at..].find("op.").expect("has an operation") + 3;
    let mut edited = text.to_owned();
    edited.insert(at, 'x');
    let row = text[..at].matches('\n').count();
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    let edit = InputEdit {
        start_byte: at,
        old_end_byte: at,
        new_end_byte: at + 1,
        start_position: Point::new(row, column),
        old_end_position: Point::new(row, column),
        new_end_position: Point::new(row, column + 1),
    };
    (edited, edit)
}

fn per_file(c: &mut Criterion) {
    let config = Config::default();
    let mut group = c.benchmark_group("1054-line migration");
    group.bench_function("parse (fresh)", |b| {
        b.iter(|| syntax::parse(black_box(BIG), None))
    });
    let tree = syntax::parse(BIG, None);
    let (edited, edit) = keystroke(BIG);
    group.bench_function("reparse after a keystroke", |b| {
        b.iter(|| {
            let mut old = tree.clone();
            old.edit(&edit);
            syntax::parse(black_box(&edited), Some(&old))
        })
    });
    let edited_tree = syntax::parse(&edited, None);
    group.bench_function("model from tree", |b| {
        b.iter(|| MigrationFile::from_tree(black_box(edited.clone()), &edited_tree))
    });
    let before = MigrationFile::parse(BIG.to_owned());
    group.bench_function("model from tree, reusing the previous version's", |b| {
        b.iter(|| {
            MigrationFile::from_tree_reusing(black_box(edited.clone()), &edited_tree, Some(&before))
        })
    });
    let file = MigrationFile::parse(edited.clone());
    group.bench_function("file rules", |b| {
        b.iter(|| project::file_diagnostics(&input(black_box(&file)), &config))
    });
    group.finish();
}

/// A linear history of `n` small migrations.
fn history(n: usize) -> Vec<MigrationFile> {
    (0..n)
        .map(|i| {
            let down = if i == 0 {
                "None".to_owned()
            } else {
                format!("'{:012x}'", i - 1)
            };
            MigrationFile::parse(format!(
                "\"\"\"step {i}\n\nRevision ID: {i:012x}\nRevises: \n\"\"\"\n\
                 from alembic import op\nimport sqlalchemy as sa\n\n\
                 revision = '{i:012x}'\ndown_revision = {down}\n\
                 branch_labels = None\ndepends_on = None\n\n\n\
                 def upgrade():\n    op.add_column('t{i}', sa.Column('c', sa.Integer()))\n\n\n\
                 def downgrade():\n    op.drop_column('t{i}', 'c')\n"
            ))
        })
        .collect()
}

fn graph(c: &mut Criterion) {
    let config = Config::default();
    let files = history(10_000);
    let names: Vec<String> = (0..files.len()).map(|i| format!("{i:05}.py")).collect();
    let inputs: Vec<FileInput> = files
        .iter()
        .zip(&names)
        .map(|(migration, name)| FileInput {
            name,
            display: name.clone(),
            migration,
            read_error: None,
        })
        .collect();
    let mut group = c.benchmark_group("10,000-revision history");
    group.sample_size(20);
    group.bench_function("build graph", |b| {
        b.iter(|| project::build_graph(black_box(&inputs)))
    });
    let built = project::build_graph(&inputs);
    group.bench_function("graph rules", |b| {
        b.iter(|| project::graph_diagnostics(black_box(&built), &inputs, &config))
    });
    group.finish();
}

criterion_group!(benches, per_file, graph);
criterion_main!(benches);

//! Bytes → parse → every rule → graph → every output format. Nothing may
//! panic, and every diagnostic must point inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

use alembic_lsp::cli::{report::Report, write_report, Format};
use alembic_lsp::config::Config;
use alembic_lsp::discovery::ProjectSpec;
use alembic_lsp::project::{analyze, FileInput, Project, ProjectFile};

fuzz_target!(|data: &[u8]| {
    let file = ProjectFile {
        path: "versions/fuzz.py".into(),
        migration: std::sync::Arc::new(alembic_lsp::migration::MigrationFile::from_bytes(data)),
        read_error: None,
    };
    let project = Project {
        spec: ProjectSpec::default(),
        files: vec![file],
    };
    let inputs: Vec<FileInput> = project
        .files
        .iter()
        .map(|f| FileInput {
            name: "fuzz.py",
            display: "versions/fuzz.py".into(),
            migration: &f.migration,
            read_error: None,
        })
        .collect();
    let config = Config::default();
    let analysis = analyze(&inputs, &config);
    let text_len = project.files[0].migration.text.len();
    for d in analysis.diagnostics.iter().flatten() {
        assert!(
            d.range.start <= d.range.end && d.range.end <= text_len,
            "range out of text"
        );
        for fix in &d.fixes {
            for edit in &fix.edits {
                assert!(edit.range.end <= text_len, "edit out of text");
            }
        }
    }
    let mut report = Report::new(std::path::Path::new("/"));
    report.add_graph(&project, &inputs, analysis);
    for format in [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Gitlab,
        Format::Markdown,
    ] {
        let mut out = Vec::new();
        write_report(format, &mut out, &report).expect("writing to memory");
    }
});

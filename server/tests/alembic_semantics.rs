//! Every case of `tests/fixtures/alembic-semantics` (a copy of
//! `../shared/alembic-semantics`, computed with real Alembic 1.20): run
//! `alembic-lsp --check --format json` inside the case folder, as a user
//! would, and compare the graph with what Alembic built.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/alembic-semantics")
}

fn ids(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn check_case(dir: &Path) -> Result<(), String> {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let output = Command::new(env!("CARGO_BIN_EXE_alembic-lsp"))
        .args(["--check", "--format", "json"])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let actual: Value = serde_json::from_str(&stdout).map_err(|e| {
        format!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let graphs = actual["graphs"].as_array().ok_or("no graphs")?;
    if graphs.len() != 1 {
        return Err(format!("expected one graph, got {}", graphs.len()));
    }
    let graph = &graphs[0];
    let code = output.status.code();
    let alembic_ok = expected["ok"].as_bool().unwrap_or(false);
    if graph["ok"].as_bool() != Some(alembic_ok) {
        return Err(format!(
            "ok: alembic says {alembic_ok}, we say {}",
            graph["ok"]
        ));
    }
    if !alembic_ok {
        let errors = actual["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["severity"] == "error")
            .count();
        if errors == 0 {
            return Err(format!(
                "Alembic fails ({}) but no error diagnostic",
                expected["error"]["message"]
            ));
        }
        if code != Some(1) {
            return Err(format!("exit code {code:?}, expected 1"));
        }
        return Ok(());
    }
    let compare = [
        ("heads", "heads"),
        ("heads_consider_depends_on", "effective_heads"),
        ("bases", "bases"),
        ("merge_points", "merges"),
        ("branch_points", "branch_points"),
    ];
    for (theirs, ours) in compare {
        if ids(&expected[theirs]) != ids(&graph[ours]) {
            return Err(format!(
                "{ours}: alembic {} vs ours {}",
                expected[theirs], graph[ours]
            ));
        }
    }
    if expected["n_revisions"] != graph["revisions"] {
        return Err(format!(
            "revisions: alembic {} vs ours {}",
            expected["n_revisions"], graph["revisions"]
        ));
    }
    Ok(())
}

#[test]
fn every_alembic_semantics_case_matches_real_alembic() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("fixtures present")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} cases found", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|dir| {
            check_case(dir)
                .err()
                .map(|e| format!("{}: {e}", dir.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Everything a built graph holds, in a form that compares (the id map's
/// order is random).
fn graph_facts(graph: &alembic_lsp::graph::RevisionGraph) -> String {
    let mut by_id: Vec<_> = graph.by_id.iter().collect();
    by_id.sort();
    format!(
        "{:?}\n{by_id:?}\n{:?} {:?} {:?} {:?} {:?}\n{:?}\n{}",
        graph.revisions,
        graph.heads,
        graph.effective_heads,
        graph.bases,
        graph.merges,
        graph.branch_points,
        graph.problems,
        graph.complete
    )
}

/// A line typed above the declarations of one file moves their ranges
/// only: the graph the language server then keeps, with the ranges moved,
/// must be the graph built from scratch, problems included, on every case
/// (cycles, missing and self-referencing names, label conflicts).
#[test]
fn a_graph_with_moved_declarations_is_the_graph_built_again() {
    use alembic_lsp::migration::MigrationFile;
    use alembic_lsp::project::{self, FileInput, Project};

    fn file_input<'a>(
        names: &'a [String],
        files: &'a [alembic_lsp::project::ProjectFile],
        i: usize,
        migration: &'a MigrationFile,
    ) -> FileInput<'a> {
        FileInput {
            name: &names[i],
            display: names[i].clone(),
            migration,
            read_error: files[i].read_error.as_deref(),
        }
    }

    let (mut checked, mut renames) = (0, 0);
    for entry in std::fs::read_dir(cases_dir()).expect("fixtures present") {
        let dir = entry.expect("readable").path();
        let Ok(specs) = alembic_lsp::discovery::discover(&dir) else {
            continue;
        };
        for spec in specs {
            let project = Project::load(spec);
            let names: Vec<String> = project
                .files
                .iter()
                .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            // A line of another length above each declaration: every
            // literal moves by its own offset.
            let moved: Vec<MigrationFile> = project
                .files
                .iter()
                .map(|f| MigrationFile::parse(padded(&f.migration.text)))
                .collect();
            let input = |i: usize, migration| file_input(&names, &project.files, i, migration);
            let old: Vec<FileInput> = (0..names.len())
                .map(|i| input(i, &project.files[i].migration))
                .collect();
            let before = project::build_graph(&old);
            for i in 0..names.len() {
                let new: Vec<FileInput> = (0..names.len())
                    .map(|j| match j == i {
                        true => input(j, &moved[j]),
                        false => input(j, &project.files[j].migration),
                    })
                    .collect();
                let changed = [(
                    i,
                    input(i, &project.files[i].migration),
                    input(i, &moved[i]),
                )];
                let kept = project::moved_graph(&before, &changed)
                    .unwrap_or_else(|| panic!("{}: {} only moved", dir.display(), names[i]));
                let expected = project::build_graph(&new);
                assert_eq!(
                    graph_facts(&kept),
                    graph_facts(&expected),
                    "{}: {}",
                    dir.display(),
                    names[i]
                );
                checked += 1;
            }
            // Every file moved at once.
            let all: Vec<_> = (0..names.len())
                .map(|i| {
                    (
                        i,
                        input(i, &project.files[i].migration),
                        input(i, &moved[i]),
                    )
                })
                .collect();
            let new: Vec<FileInput> = (0..names.len()).map(|i| input(i, &moved[i])).collect();
            let kept = project::moved_graph(&before, &all).expect("only moved");
            assert_eq!(
                graph_facts(&kept),
                graph_facts(&project::build_graph(&new)),
                "{}: all files",
                dir.display()
            );
            // A value that changed is not a move: the graph is built again.
            for i in 0..names.len() {
                let Some(renamed) = renamed_revision(&project.files[i].migration.text) else {
                    continue;
                };
                let renamed = MigrationFile::parse(renamed);
                let id = |m: &MigrationFile| m.revision_id().map(|i| i.value.clone());
                if id(&renamed) == id(&project.files[i].migration) {
                    continue; // a later assignment wins
                }
                let changed = [(
                    i,
                    file_input(&names, &project.files, i, &project.files[i].migration),
                    file_input(&names, &project.files, i, &renamed),
                )];
                assert!(
                    project::moved_graph(&before, &changed).is_none(),
                    "{}: {} renamed",
                    dir.display(),
                    names[i]
                );
                renames += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} files checked");
    assert!(renames >= 20, "only {renames} renames checked");
}

/// `text` with a comment line of a different length above each line that
/// starts with a name (the declarations, the imports, the defs).
fn padded(text: &str) -> String {
    let mut out = String::new();
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if line.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push_str(&format!("#{}\n", "x".repeat(n % 7 * 5)));
        }
        out.push_str(line);
    }
    out
}

/// `text` with its `revision = '...'` value changed, if it has one.
fn renamed_revision(text: &str) -> Option<String> {
    let start = text
        .split_inclusive('\n')
        .scan(0, |at, line| {
            let here = *at;
            *at += line.len();
            Some((here, line))
        })
        .find(|(_, line)| line.starts_with("revision") && !line.contains("None"))?;
    let quote = start.1.find(['\'', '"'])?;
    let mut renamed = text.to_owned();
    renamed.insert_str(start.0 + quote + 1, "zz");
    Some(renamed)
}

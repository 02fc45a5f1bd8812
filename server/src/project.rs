//! A project: the files of one revision graph, read in parallel, and the
//! analysis shared by `--check` and the language server — per-file rules
//! (cacheable per text) and graph rules over all files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::discovery::{self, legacy_revision_from_name, Listed, ProjectSpec};
use crate::graph::{RevisionGraph, RevisionInput};
use crate::migration::{DeclValue, IdLit, MigrationFile};
use crate::position::TextRange;
use crate::rules::{self, FileContext};

/// Larger files are not parsed (a generated dump is no migration).
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct ProjectFile {
    pub path: PathBuf,
    pub migration: Arc<MigrationFile>,
    /// Why the file could not be read at all.
    pub read_error: Option<String>,
}

impl ProjectFile {
    pub fn read(path: &Path) -> ProjectFile {
        ProjectFile::read_as(path, MigrationFile::from_bytes)
    }

    /// Reads a file's declarations only ([`MigrationFile::declarations_only`]).
    pub fn read_declarations(path: &Path) -> ProjectFile {
        ProjectFile::read_as(path, MigrationFile::declarations_only)
    }

    fn read_as(path: &Path, model: fn(&[u8]) -> MigrationFile) -> ProjectFile {
        let result = std::fs::metadata(path).and_then(|meta| {
            if !meta.is_file() {
                // A FIFO would block the read until a writer comes.
                Err(std::io::Error::other("not a regular file"))
            } else if meta.len() > MAX_FILE_SIZE {
                Err(std::io::Error::other(format!(
                    "the file is {} MB, over the {} MB this tool parses",
                    meta.len() / (1024 * 1024),
                    MAX_FILE_SIZE / (1024 * 1024)
                )))
            } else {
                std::fs::read(path)
            }
        });
        match result {
            Ok(bytes) => ProjectFile {
                path: path.to_path_buf(),
                migration: Arc::new(model(&bytes)),
                read_error: None,
            },
            Err(e) => ProjectFile::unreadable(path, discovery::io_reason(&e)),
        }
    }

    fn from_listing(listed: &Listed) -> ProjectFile {
        match listed {
            Listed::File(path) => ProjectFile::read(path),
            Listed::Unreadable { path, reason } => ProjectFile::unreadable(path, reason.clone()),
        }
    }

    pub fn unreadable(path: &Path, reason: String) -> ProjectFile {
        ProjectFile {
            path: path.to_path_buf(),
            migration: Arc::new(MigrationFile::parse(String::new())),
            read_error: Some(reason),
        }
    }

    /// Runs the per-file rules, then frees what only they read (operations
    /// and comments): the graph and reports need the text and declarations.
    pub fn checked(mut self, config: &Config) -> (ProjectFile, Vec<Diagnostic>) {
        let diagnostics = file_diagnostics(
            &FileInput {
                name: self.file_name(),
                display: String::new(),
                migration: &self.migration,
                read_error: self.read_error.as_deref(),
            },
            config,
        );
        if let Some(model) = Arc::get_mut(&mut self.migration) {
            model.release_operations();
        }
        (self, diagnostics)
    }

    pub fn file_name(&self) -> &str {
        self.path.file_name().and_then(|n| n.to_str()).unwrap_or("")
    }
}

#[derive(Clone, Debug)]
pub struct Project {
    pub spec: ProjectSpec,
    pub files: Vec<ProjectFile>,
}

impl Project {
    /// Lists, reads and runs the per-file rules on every file in one
    /// parallel pass. Each model then drops its operations and comments (the
    /// graph and the report need only the text and the revision variables),
    /// so a large project never holds every argument expression at once.
    pub fn load_checked(spec: ProjectSpec, config: &Config) -> (Project, Vec<Vec<Diagnostic>>) {
        let (files, diagnostics) = discovery::list_files(&spec)
            .par_iter()
            .map(|listed| ProjectFile::from_listing(listed).checked(config))
            .unzip();
        (Project { spec, files }, diagnostics)
    }

    /// Lists and reads every file of the spec, in Alembic's load order.
    pub fn load(spec: ProjectSpec) -> Project {
        let listed = discovery::list_files(&spec);
        let files = listed.par_iter().map(ProjectFile::from_listing).collect();
        Project { spec, files }
    }
}

/// The result of analysing one graph.
#[derive(Debug)]
pub struct Analysis {
    pub graph: RevisionGraph,
    /// Per file (same order as the input), sorted by position.
    pub diagnostics: Vec<Vec<Diagnostic>>,
    /// Whether Alembic would load this graph at all.
    pub ok: bool,
}

/// One file as the analysis sees it.
pub struct FileInput<'a> {
    pub name: &'a str,
    pub display: String,
    pub migration: &'a MigrationFile,
    pub read_error: Option<&'a str>,
}

/// Per-file diagnostics (cacheable by the caller for an unchanged text).
pub fn file_diagnostics(input: &FileInput, config: &Config) -> Vec<Diagnostic> {
    if let Some(reason) = input.read_error {
        let rule = rules::by_code("MG001").expect("MG001 exists");
        let d = Diagnostic::new(
            rule,
            TextRange::empty(0),
            format!("cannot read the file: {reason}"),
        );
        return rules::finish(config, vec![d]);
    }
    // A released model lost the operations the rules read: parse it again.
    let complete;
    let file = if input.migration.released {
        complete = input.migration.reparsed();
        &complete
    } else {
        input.migration
    };
    rules::check_file(&FileContext {
        file,
        config,
        file_name: input.name,
    })
}

/// The graph Alembic would build from these files, in load order.
pub fn build_graph(files: &[FileInput]) -> RevisionGraph {
    let inputs = files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.read_error.is_none())
        .filter_map(|(index, f)| revision_input(index, f.name, f.migration))
        .collect();
    let mut graph = RevisionGraph::build(inputs);
    if files.iter().any(unreadable_revision) {
        graph.complete = false;
    }
    graph
}

/// A readable file whose `revision` is not a literal (MG002): the graph
/// misses a revision, so it is not complete.
fn unreadable_revision(f: &FileInput) -> bool {
    f.read_error.is_none() && f.migration.revision_id().is_none() && f.migration.revision.is_some()
}

/// [`build_graph`] of the new files, from `previous` (the graph of the old
/// files) when each changed file `(index, old, new)` declares the same values
/// as before, only at other positions: a keystroke in the docstring of one
/// file of 10,000 then costs no rebuild. `None` when a value changed.
pub fn moved_graph(
    previous: &RevisionGraph,
    changed: &[(usize, FileInput, FileInput)],
) -> Option<RevisionGraph> {
    let mut moved = Vec::new();
    for (index, old, new) in changed {
        // What build_graph reads of a file, besides its RevisionInput.
        if old.read_error.is_some() != new.read_error.is_some()
            || unreadable_revision(old) != unreadable_revision(new)
        {
            return None;
        }
        if new.read_error.is_some() {
            continue;
        }
        match (
            revision_input(*index, old.name, old.migration),
            revision_input(*index, new.name, new.migration),
        ) {
            (None, None) => {}
            (Some(_), Some(input)) => moved.push(input),
            _ => return None,
        }
    }
    previous.moved(moved)
}

fn revision_input(index: usize, name: &str, file: &MigrationFile) -> Option<RevisionInput> {
    let id = match file.revision.as_ref().map(|d| &d.value) {
        Some(DeclValue::Str(id)) => id.clone(),
        Some(_) => return None,
        None => IdLit {
            value: legacy_revision_from_name(name)?.to_owned(),
            range: TextRange::empty(0),
        },
    };
    let ids = |decl: &Option<crate::migration::Declaration>| -> Option<Vec<IdLit>> {
        match decl {
            None => Some(Vec::new()),
            Some(d) => d.value.ids().map(|v| v.into_iter().cloned().collect()),
        }
    };
    Some(RevisionInput {
        file: index,
        id,
        // No `down_revision` at all: unknown (MG004 says Alembic fails).
        down_revision: file
            .down_revision
            .as_ref()
            .and_then(|d| d.value.ids())
            .map(|v| v.into_iter().cloned().collect()),
        depends_on: ids(&file.depends_on),
        branch_labels: ids(&file.branch_labels),
    })
}

/// Codes that mean Alembic cannot import a file, so cannot load the graph.
const LOAD_FATAL: [&str; 3] = ["MG001", "MG004", "MG005"];

/// Analyses a whole graph from scratch (the CLI). The language server uses
/// the pieces ([`file_diagnostics`], [`build_graph`], [`graph_diagnostics`]).
pub fn analyze(files: &[FileInput], config: &Config) -> Analysis {
    let per_file: Vec<Vec<Diagnostic>> = files
        .par_iter()
        .map(|f| file_diagnostics(f, config))
        .collect();
    analyze_checked(files, per_file, config)
}

/// The graph half of [`analyze`], for per-file diagnostics computed already
/// (see [`Project::check_files`]).
pub fn analyze_checked(
    files: &[FileInput],
    per_file: Vec<Vec<Diagnostic>>,
    config: &Config,
) -> Analysis {
    let graph = build_graph(files);
    let graph_diags = graph_diagnostics(&graph, files, config);
    finish(files, graph, per_file, graph_diags)
}

pub fn graph_diagnostics(
    graph: &RevisionGraph,
    files: &[FileInput],
    config: &Config,
) -> Vec<(usize, Diagnostic)> {
    rules::check_graph(graph, config, &|i| {
        files.get(i).map(|f| f.display.clone()).unwrap_or_default()
    })
}

/// Merges per-file and graph diagnostics, sorted, and decides `ok`.
pub fn finish(
    files: &[FileInput],
    graph: RevisionGraph,
    per_file: Vec<Vec<Diagnostic>>,
    graph_diags: Vec<(usize, Diagnostic)>,
) -> Analysis {
    let fatal_file = files.iter().enumerate().any(|(i, f)| {
        f.read_error.is_some()
            || f.migration.decode_problem.is_some()
            || !f.migration.syntax_errors.is_empty()
            || per_file[i]
                .iter()
                .any(|d| LOAD_FATAL.contains(&d.rule.code))
    });
    let ok = graph.ok() && !fatal_file;
    Analysis {
        graph,
        diagnostics: merge_diagnostics(per_file, graph_diags),
        ok,
    }
}

/// Adds the graph's findings to each file's, sorted by position, without
/// duplicates (the language server uses this alone when it reuses a graph).
pub fn merge_diagnostics(
    mut per_file: Vec<Vec<Diagnostic>>,
    graph_diags: Vec<(usize, Diagnostic)>,
) -> Vec<Vec<Diagnostic>> {
    for (file, d) in graph_diags {
        if let Some(list) = per_file.get_mut(file) {
            list.push(d);
        }
    }
    for list in &mut per_file {
        list.sort_by(|a, b| {
            (a.range.start, a.rule.code, a.range.end).cmp(&(
                b.range.start,
                b.rule.code,
                b.range.end,
            ))
        });
        list.dedup_by(|a, b| {
            a.range == b.range && a.rule.code == b.rule.code && a.message == b.message
        });
    }
    per_file
}

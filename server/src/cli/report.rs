//! The result of a `--check` run in output-neutral form: paths relative to
//! the current directory, 1-based lines and code-point columns.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Fix, FixKind, Severity};
use crate::project::{Analysis, FileInput, Project};
use crate::rules::Rule;

#[derive(Debug)]
pub struct GraphSummary {
    pub locations: Vec<String>,
    pub revisions: usize,
    pub ok: bool,
    pub heads: Vec<String>,
    pub effective_heads: Vec<String>,
    pub bases: Vec<String>,
    pub merges: Vec<String>,
    pub branch_points: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone)]
pub struct ReportEdit {
    pub start: Position,
    pub end: Position,
    pub content: String,
}

#[derive(Debug, Clone)]
pub struct ReportFix {
    pub title: String,
    pub kind: FixKind,
    pub edits: Vec<ReportEdit>,
}

#[derive(Debug)]
pub struct Finding {
    pub path: String,
    pub start: Position,
    pub end: Position,
    pub rule: &'static Rule,
    pub severity: Severity,
    pub message: String,
    pub fix: Option<ReportFix>,
    /// The source lines the finding spans (for the text format and fingerprints).
    pub source_line: String,
}

#[derive(Debug)]
pub struct Report {
    cwd: PathBuf,
    pub files: usize,
    pub graphs: Vec<GraphSummary>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn new(cwd: &Path) -> Report {
        Report {
            cwd: cwd.to_path_buf(),
            files: 0,
            graphs: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// Relative to the current directory where possible.
    pub fn display_path(&self, path: &Path) -> String {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let shown = absolute
            .strip_prefix(&self.cwd)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf());
        let shown = shown.to_string_lossy().replace('\\', "/");
        if shown.is_empty() {
            ".".into()
        } else {
            shown
        }
    }

    pub fn add_graph(&mut self, project: &Project, inputs: &[FileInput], analysis: Analysis) {
        self.files += inputs.len();
        let g = &analysis.graph;
        let ids = |list: &[usize]| {
            let mut v: Vec<String> = list
                .iter()
                .map(|&i| g.revisions[i].id().to_owned())
                .collect();
            v.sort();
            v
        };
        let mut locations: Vec<String> = project
            .spec
            .version_locations
            .iter()
            .map(|l| self.display_path(&l.path))
            .collect();
        locations.extend(project.spec.files.iter().map(|f| self.display_path(f)));
        self.graphs.push(GraphSummary {
            locations,
            revisions: g.revision_count(),
            ok: analysis.ok,
            heads: ids(&g.heads),
            effective_heads: ids(&g.effective_heads),
            bases: ids(&g.bases),
            merges: ids(&g.merges),
            branch_points: ids(&g.branch_points),
        });
        for (input, diagnostics) in inputs.iter().zip(analysis.diagnostics) {
            let file = input.migration;
            let pos = |offset: usize| {
                let lc = file.line_index.to_code_points(&file.text, offset);
                Position {
                    line: lc.line as usize + 1,
                    column: lc.col as usize + 1,
                }
            };
            for d in diagnostics {
                let line = file.line_index.line_of(d.range.start);
                let fix = d.fixes.first().map(|f: &Fix| ReportFix {
                    title: f.title.clone(),
                    kind: f.kind,
                    edits: f
                        .edits
                        .iter()
                        .map(|e| ReportEdit {
                            start: pos(e.range.start),
                            end: pos(e.range.end),
                            content: e.new_text.clone(),
                        })
                        .collect(),
                });
                self.findings.push(Finding {
                    path: input.display.clone(),
                    start: pos(d.range.start),
                    end: pos(d.range.end),
                    rule: d.rule,
                    severity: d.severity,
                    message: d.message,
                    fix,
                    source_line: file.line_text(line).to_owned(),
                });
            }
        }
    }

    /// A finding about a whole file (MG402), shown at its first line;
    /// `path` as displayed, relative to the current directory.
    pub fn add_file_finding(
        &mut self,
        path: String,
        rule: &'static Rule,
        severity: Severity,
        message: String,
    ) {
        let text = std::fs::read(self.cwd.join(&path)).unwrap_or_default();
        let first_line = String::from_utf8_lossy(&text)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        self.findings.push(Finding {
            path,
            start: Position { line: 1, column: 1 },
            end: Position {
                line: 1,
                column: first_line.chars().count() + 1,
            },
            rule,
            severity,
            message,
            fix: None,
            source_line: first_line,
        });
    }

    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.path, a.start.line, a.start.column, a.rule.code).cmp(&(
                &b.path,
                b.start.line,
                b.start.column,
                b.rule.code,
            ))
        });
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn revisions(&self) -> usize {
        self.graphs.iter().map(|g| g.revisions).sum()
    }

    pub fn exit_code(&self, strict: bool) -> i32 {
        let failing =
            self.count(Severity::Error) > 0 || (strict && self.count(Severity::Warning) > 0);
        i32::from(failing)
    }
}

/// FNV-1a: a fingerprint stable across runs, platforms and Rust versions.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    format!("{hash:016x}")
}

//! `--format json`: the versioned schema of SPEC §6.

use std::io::Write;

use serde::ser::{Serialize, Serializer};

use super::report::{Finding, GraphSummary, Report, ReportEdit, ReportFix};
use crate::diagnostic::{FixKind, Severity};

pub const SCHEMA_VERSION: u32 = 1;

// The report is written straight from borrowed views (a `serde_json::Value`
// of 28,000 findings took 110 MB and a third of a second); the field order
// is the schema's.

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    version: u32,
    tool: Tool,
    summary: Summary,
    graphs: Vec<JsonGraph<'a>>,
    diagnostics: Findings<'a>,
}

#[derive(serde::Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(serde::Serialize)]
struct Summary {
    files: usize,
    revisions: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
}

#[derive(serde::Serialize)]
struct JsonGraph<'a> {
    locations: &'a [String],
    revisions: usize,
    ok: bool,
    heads: &'a [String],
    effective_heads: &'a [String],
    bases: &'a [String],
    merges: &'a [String],
    branch_points: &'a [String],
}

impl<'a> From<&'a GraphSummary> for JsonGraph<'a> {
    fn from(g: &'a GraphSummary) -> Self {
        JsonGraph {
            locations: &g.locations,
            revisions: g.revisions,
            ok: g.ok,
            heads: &g.heads,
            effective_heads: &g.effective_heads,
            bases: &g.bases,
            merges: &g.merges,
            branch_points: &g.branch_points,
        }
    }
}

/// The findings, serialized one by one.
struct Findings<'a>(&'a [Finding]);

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(JsonFinding::from))
    }
}

#[derive(serde::Serialize)]
struct JsonFinding<'a> {
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    code: &'static str,
    rule: &'static str,
    severity: &'static str,
    message: &'a str,
    tag: Option<String>,
    fix: Option<JsonFix<'a>>,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        JsonFinding {
            path: &f.path,
            line: f.start.line,
            column: f.start.column,
            end_line: f.end.line,
            end_column: f.end.column,
            code: f.rule.code,
            rule: f.rule.name,
            severity: f.severity.as_str(),
            message: &f.message,
            tag: f.rule.tag.map(|t| format!("# {t}")),
            fix: f.fix.as_ref().map(JsonFix::from),
        }
    }
}

#[derive(serde::Serialize)]
struct JsonFix<'a> {
    title: &'a str,
    kind: &'static str,
    edits: Vec<JsonEdit<'a>>,
}

impl<'a> From<&'a ReportFix> for JsonFix<'a> {
    fn from(fix: &'a ReportFix) -> Self {
        JsonFix {
            title: &fix.title,
            kind: match fix.kind {
                FixKind::Approve => "approve",
                FixKind::Rewrite => "rewrite",
            },
            edits: fix.edits.iter().map(JsonEdit::from).collect(),
        }
    }
}

#[derive(serde::Serialize)]
struct JsonEdit<'a> {
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    content: &'a str,
}

impl<'a> From<&'a ReportEdit> for JsonEdit<'a> {
    fn from(e: &'a ReportEdit) -> Self {
        JsonEdit {
            line: e.start.line,
            column: e.start.column,
            end_line: e.end.line,
            end_column: e.end.column,
            content: &e.content,
        }
    }
}

pub fn write(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    let view = JsonReport {
        version: SCHEMA_VERSION,
        tool: Tool {
            name: "alembic-lsp",
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: Summary {
            files: report.files,
            revisions: report.revisions(),
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            infos: report.count(Severity::Info),
        },
        graphs: report.graphs.iter().map(JsonGraph::from).collect(),
        diagnostics: Findings(&report.findings),
    };
    serde_json::to_writer_pretty(&mut *out, &view)?;
    writeln!(out)
}

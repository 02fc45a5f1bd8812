//! `--format json`: the versioned schema of SPEC §6.

use std::io::Write;

use serde_json::{json, Value};

use super::report::{Report, ReportFix};
use crate::diagnostic::{FixKind, Severity};

pub const SCHEMA_VERSION: u32 = 1;

pub fn fix_json(fix: &Option<ReportFix>) -> Value {
    match fix {
        None => Value::Null,
        Some(fix) => json!({
            "title": fix.title,
            "kind": match fix.kind { FixKind::Approve => "approve", FixKind::Rewrite => "rewrite" },
            "edits": fix.edits.iter().map(|e| json!({
                "line": e.start.line, "column": e.start.column,
                "end_line": e.end.line, "end_column": e.end.column,
                "content": e.content,
            })).collect::<Vec<_>>(),
        }),
    }
}

pub fn to_value(report: &Report) -> Value {
    json!({
        "version": SCHEMA_VERSION,
        "tool": {"name": "alembic-lsp", "version": env!("CARGO_PKG_VERSION")},
        "summary": {
            "files": report.files,
            "revisions": report.revisions(),
            "errors": report.count(Severity::Error),
            "warnings": report.count(Severity::Warning),
            "infos": report.count(Severity::Info),
        },
        "graphs": report.graphs.iter().map(|g| json!({
            "locations": g.locations,
            "revisions": g.revisions,
            "ok": g.ok,
            "heads": g.heads,
            "effective_heads": g.effective_heads,
            "bases": g.bases,
            "merges": g.merges,
            "branch_points": g.branch_points,
        })).collect::<Vec<_>>(),
        "diagnostics": report.findings.iter().map(|f| json!({
            "path": f.path,
            "line": f.start.line,
            "column": f.start.column,
            "end_line": f.end.line,
            "end_column": f.end.column,
            "code": f.rule.code,
            "rule": f.rule.name,
            "severity": f.severity.as_str(),
            "message": f.message,
            "tag": f.rule.tag.map(|t| format!("# {t}")),
            "fix": fix_json(&f.fix),
        })).collect::<Vec<_>>(),
    })
}

pub fn write(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report))?;
    writeln!(out)
}

//! `--format gitlab`: GitLab Code Quality report (a JSON array).

use std::io::Write;

use serde_json::json;

use super::report::{fingerprint, Report};
use crate::diagnostic::Severity;

pub fn write(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    let issues: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "type": "issue",
                "check_name": f.rule.code,
                "description": format!("{} {}", f.rule.code, f.message),
                "categories": ["Bug Risk"],
                "severity": match f.severity {
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                    Severity::Info => "info",
                },
                "fingerprint": fingerprint(&[f.rule.code, &f.path, f.source_line.trim(), &f.message]),
                "location": {
                    "path": f.path,
                    "positions": {
                        "begin": {"line": f.start.line, "column": f.start.column},
                        "end": {"line": f.end.line, "column": f.end.column},
                    },
                },
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues)?;
    writeln!(out)
}

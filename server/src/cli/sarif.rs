//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning, with every rule's
//! help text and stable `partialFingerprints`.

use std::io::Write;

use serde_json::json;

use super::report::{fingerprint, Report};
use crate::diagnostic::Severity;
use crate::rules;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

pub fn to_value(report: &Report) -> serde_json::Value {
    let rule_list: Vec<_> = rules::ALL
        .iter()
        .map(|r| {
            let help = r.explanation();
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": help, "markdown": help},
                "helpUri": r.url(),
                "defaultConfiguration": {"level": level(r.default_severity)},
                "properties": {"tags": ["alembic", "migrations"]},
            })
        })
        .collect();
    let results: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            let index = rules::ALL.iter().position(|r| r.code == f.rule.code).unwrap_or(0);
            json!({
                "ruleId": f.rule.code,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": f.start.line,
                            "startColumn": f.start.column,
                            "endLine": f.end.line,
                            "endColumn": f.end.column,
                        },
                    },
                }],
                "partialFingerprints": {
                    "alembicLsp/v1": fingerprint(&[f.rule.code, &f.path, f.source_line.trim(), &f.message]),
                },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "alembic-lsp",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/alembic-lsp/alembic-lsp",
                "rules": rule_list,
            }},
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "./"}},
            "results": results,
        }],
    })
}

pub fn write(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report))?;
    writeln!(out)
}

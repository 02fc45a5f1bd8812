//! Between the analysis's byte ranges and findings and their LSP shapes.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::json;
use tower_lsp::lsp_types::{self as lsp, NumberOrString, Position, Range, Url};

use crate::diagnostic::{Diagnostic, Edit, Severity};
use crate::migration::MigrationFile;
use crate::position::{LineCol, TextRange};

pub const SOURCE: &str = "alembic-lsp";

pub fn position(file: &MigrationFile, offset: usize) -> Position {
    let lc = file.line_index.to_utf16(&file.text, offset);
    Position::new(lc.line, lc.col)
}

pub fn range(file: &MigrationFile, range: TextRange) -> Range {
    Range::new(position(file, range.start), position(file, range.end))
}

/// An LSP position → byte offset in the file's text (clamped).
pub fn offset(file: &MigrationFile, position: Position) -> usize {
    file.line_index.from_utf16(
        &file.text,
        LineCol {
            line: position.line,
            col: position.character,
        },
    )
}

pub fn text_range(file: &MigrationFile, range: Range) -> TextRange {
    let start = offset(file, range.start);
    TextRange::new(start, offset(file, range.end).max(start))
}

pub fn text_edit(file: &MigrationFile, edit: &Edit) -> lsp::TextEdit {
    lsp::TextEdit {
        range: range(file, edit.range),
        new_text: edit.new_text.clone(),
    }
}

pub fn severity(severity: Severity) -> lsp::DiagnosticSeverity {
    match severity {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
    }
}

/// The rule's documentation page, parsed once per rule (a 10,000-file
/// index publishes tens of thousands of findings).
fn rule_page(code: &str) -> Option<Url> {
    static PAGES: OnceLock<HashMap<&'static str, Url>> = OnceLock::new();
    PAGES
        .get_or_init(|| {
            crate::rules::ALL
                .iter()
                .filter_map(|rule| Some((rule.code, Url::parse(&rule.url()).ok()?)))
                .collect()
        })
        .get(code)
        .cloned()
}

/// A finding as the editor shows it. `data` names the rule; its fixes are
/// offered by `textDocument/codeAction` (not sent with every publication: a
/// 1,000-line migration with 150 findings would serialize them all on each
/// keystroke).
pub fn diagnostic(file: &MigrationFile, d: &Diagnostic) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range: range(file, d.range),
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.rule.code.to_owned())),
        code_description: rule_page(d.rule.code).map(|href| lsp::CodeDescription { href }),
        source: Some(SOURCE.to_owned()),
        message: d.message.clone(),
        related_information: None,
        tags: None,
        data: Some(json!({ "rule": d.rule.name })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip_through_utf16() {
        let file = MigrationFile::parse("x = '😀'; revision = 'abc'\n".into());
        let id = file.revision_id().unwrap().range;
        let r = range(&file, id);
        assert_eq!(r.start, Position::new(0, 21));
        assert_eq!(text_range(&file, r), id);
    }
}

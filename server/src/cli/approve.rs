//! `--add-approvals`: writes the approval tag of every finding that has one
//! into its file. Meant to be run once, when adopting the tool on a long
//! history, after the findings have been reviewed (docs/ci.md): from then on
//! every new destructive operation needs its own approval.

use crate::diagnostic::{Diagnostic, Edit, FixKind};
use crate::project::{Analysis, Project};

use super::Fatal;

/// How many tags were written into how many files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub tags: usize,
    pub files: usize,
}

/// Applies the approval fixes of `analysis` (of `project`) to the files on disk.
pub fn add_approvals(project: &Project, analysis: &Analysis) -> Result<Written, Fatal> {
    let mut written = Written::default();
    for (file, diagnostics) in project.files.iter().zip(&analysis.diagnostics) {
        if file.read_error.is_some() || file.migration.decode_problem.is_some() {
            continue;
        }
        let Some((text, tags)) = with_approvals(&file.migration.text, diagnostics) else {
            continue;
        };
        let bytes = std::fs::read(&file.path)
            .map_err(|e| Fatal(format!("{}: {e}", file.path.display())))?;
        let (bom, rest) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => (&b"\xEF\xBB\xBF"[..], rest),
            None => (&b""[..], &bytes[..]),
        };
        // Offsets are into the decoded text: write back only what reads the
        // same as UTF-8 (not a file in another declared encoding).
        if rest != file.migration.text.as_bytes() {
            eprintln!(
                "alembic-lsp: {}: not UTF-8 or changed while checking; approve it by hand",
                file.path.display()
            );
            continue;
        }
        std::fs::write(&file.path, [bom, text.as_bytes()].concat())
            .map_err(|e| Fatal(format!("{}: {e}", file.path.display())))?;
        written.tags += tags;
        written.files += 1;
    }
    Ok(written)
}

/// `text` with every approval edit of `diagnostics` applied once (the same
/// tag for the same statement is inserted once), and how many were; `None`
/// when there is none.
pub fn with_approvals(text: &str, diagnostics: &[Diagnostic]) -> Option<(String, usize)> {
    let mut edits: Vec<&Edit> = diagnostics
        .iter()
        .flat_map(|d| &d.fixes)
        .filter(|f| f.kind == FixKind::Approve)
        .flat_map(|f| &f.edits)
        .collect();
    // From the end of the file, so earlier offsets stay valid.
    edits.sort_by(|a, b| {
        (b.range.start, b.range.end, &b.new_text).cmp(&(a.range.start, a.range.end, &a.new_text))
    });
    edits.dedup();
    let mut out = text.to_owned();
    let mut applied = 0;
    let mut limit = text.len();
    for edit in edits {
        if edit.range.end > limit || !text.is_char_boundary(edit.range.start) {
            continue;
        }
        out.replace_range(edit.range.start..edit.range.end, &edit.new_text);
        limit = edit.range.start;
        applied += 1;
    }
    (applied > 0).then_some((out, applied))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::MigrationFile;
    use crate::position::TextRange;
    use crate::rules::{self, tags::approval_fix};

    const TEXT: &str =
        "def upgrade():\n    op.drop_table(\"a\")\n    op.drop_column(\"b\", \"c\")\n";

    fn finding(file: &MigrationFile, statement: &str, tag: &str) -> Diagnostic {
        let start = TEXT.find(statement).unwrap();
        let range = TextRange::new(start, start + statement.len());
        Diagnostic::new(rules::by_code("MG003").unwrap(), range, "needs approval")
            .with_fix(approval_fix(file, range, tag, false))
    }

    #[test]
    fn every_statement_gets_its_tag_once() {
        let file = MigrationFile::parse(TEXT.to_owned());
        let diagnostics = [
            finding(&file, "op.drop_column", "destructive: approved"),
            finding(&file, "op.drop_table", "destructive: approved"),
            // A second finding on the same statement: the tag is not doubled.
            finding(&file, "op.drop_table", "destructive: approved"),
            finding(&file, "op.drop_table", "type-change: approved"),
        ];
        let (text, count) = with_approvals(TEXT, &diagnostics).unwrap();
        assert_eq!(count, 3);
        assert_eq!(
            text,
            "def upgrade():\n    # destructive: approved\n    # type-change: approved\n    op.drop_table(\"a\")\n    # destructive: approved\n    op.drop_column(\"b\", \"c\")\n"
        );
    }

    #[test]
    fn nothing_to_approve() {
        let file = MigrationFile::parse(TEXT.to_owned());
        let mut d = finding(&file, "op.drop_table", "destructive: approved");
        d.fixes[0].kind = FixKind::Rewrite;
        assert_eq!(with_approvals(TEXT, &[d]), None);
    }
}

use crate::diagnostic::Diagnostic;
use crate::position::TextRange;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Reports a file that Python cannot parse or read: a syntax error
    /// (tree-sitter ERROR or MISSING nodes), bytes that are not valid in the
    /// file's encoding, or NUL bytes.
    ///
    /// ## Why is this bad?
    /// Alembic imports every file of a version location to build the graph.
    /// One file that does not import breaks `alembic upgrade` for everyone.
    ///
    /// The rest of the file is still checked. When the errors come from
    /// statements left open (a bracket never closed, a string never ended:
    /// a line being typed), the finding points at that bracket or string,
    /// as Python's own message would, and every other statement of the file
    /// keeps its findings.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.add_column("users", sa.Column("email", sa.Text()
    ///     op.drop_table("legacy")  # destructive: approved
    /// ```
    /// (`(` is never closed: the line ends before its statement does.)
    pub static RULE = {
        code: "MG001",
        name: "syntax-error",
        severity: Error,
        tag: None,
        summary: "the file does not parse",
    };
}

/// At most this many syntax errors are reported per file: the first ones
/// are the useful ones.
const MAX_REPORTED: usize = 20;

pub fn check(ctx: &FileContext, out: &mut Vec<Diagnostic>) {
    let file = ctx.file;
    if let Some(problem) = &file.decode_problem {
        out.push(Diagnostic::new(
            &RULE,
            TextRange::empty(0),
            problem.message(),
        ));
    }
    if !file.open_statements.is_empty() {
        // Statements left open explain every error: point at each one's
        // unclosed bracket or string.
        for open in file.open_statements.iter().take(MAX_REPORTED) {
            out.push(Diagnostic::new(&RULE, open.at, open.message()));
        }
        return;
    }
    for &(range, missing) in file.syntax_errors.iter().take(MAX_REPORTED) {
        let message = if missing {
            format!(
                "syntax error: missing `{}`",
                missing_text(file.slice(range))
            )
        } else {
            let snippet: String = file.slice(range).chars().take(30).collect();
            let snippet = snippet.lines().next().unwrap_or("").trim();
            if snippet.is_empty() {
                "syntax error".to_owned()
            } else {
                format!("syntax error near `{snippet}`")
            }
        };
        // Point at the first line only: an ERROR node can span the rest of the file.
        let line = file.line_index.line_of(range.start);
        let line_end = file.line_index.line_range(&file.text, line).end;
        let end = range.end.min(line_end.max(range.start));
        out.push(Diagnostic::new(
            &RULE,
            TextRange::new(range.start, end),
            message,
        ));
    }
}

fn missing_text(text: &str) -> &str {
    if text.is_empty() {
        "token"
    } else {
        text
    }
}

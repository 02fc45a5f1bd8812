use crate::diagnostic::Diagnostic;
use crate::graph::{GraphProblem, RevisionGraph};

declare_rule! {
    /// ## What it does
    /// Reports a revision id containing `@`, `-`, `+` or `:`.
    ///
    /// ## Why is this bad?
    /// Those characters are revision-specifier syntax (`head-1`, `ae10+2`,
    /// `branch@head`, `a:b`), so Alembic refuses such an id when it loads the
    /// graph ("Character(s) '-' not allowed in revision identifier").
    ///
    /// ## Example
    /// ```python
    /// revision = "2024-01-add-users"
    /// ```
    pub static RULE = {
        code: "MG207",
        name: "invalid-revision-id",
        severity: Error,
        tag: None,
        summary: "an id with @, -, + or : (Alembic refuses it)",
    };
}

pub fn check(graph: &RevisionGraph, out: &mut Vec<(usize, Diagnostic)>) {
    for problem in &graph.problems {
        let GraphProblem::IllegalCharacters {
            revision,
            characters,
        } = problem
        else {
            continue;
        };
        let rev = &graph.revisions[*revision];
        let shown: Vec<String> = characters.chars().map(|c| format!("`{c}`")).collect();
        out.push((
            rev.input.file,
            Diagnostic::new(
                &RULE,
                rev.input.id.range,
                format!(
                    "revision id `{}` contains {}, which Alembic does not allow in an identifier",
                    rev.id(),
                    shown.join(", ")
                ),
            ),
        ));
    }
}

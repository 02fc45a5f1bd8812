use crate::diagnostic::Diagnostic;
use crate::graph::{GraphProblem, RevisionGraph};

declare_rule! {
    /// ## What it does
    /// Reports a branch label used by two revisions, or equal to a revision
    /// id.
    ///
    /// ## Why is this bad?
    /// Alembic refuses to load the graph ("Branch name 'x' in revision …
    /// already used by revision …"). Usually a migration copied from the
    /// first revision of a branch, labels included.
    ///
    /// ## Example
    /// ```python
    /// # a.py: revision = "aaaa0001"; branch_labels = ("x",)
    /// # b.py: revision = "bbbb0002"; branch_labels = ("x",)
    /// ```
    pub static RULE = {
        code: "MG206",
        name: "branch-label-conflict",
        severity: Error,
        tag: None,
        summary: "a branch label used twice, or equal to a revision id",
    };
}

pub fn check(graph: &RevisionGraph, out: &mut Vec<(usize, Diagnostic)>) {
    for problem in &graph.problems {
        let GraphProblem::LabelConflict {
            revision,
            label,
            other,
            other_is_id,
        } = problem
        else {
            continue;
        };
        let other_id = graph.revisions[*other].id();
        let message = if *other_is_id {
            format!("branch label `{}` is the id of revision `{other_id}`: Alembic refuses to load the graph", label.value)
        } else {
            format!("branch label `{}` is already used by revision `{other_id}`: Alembic refuses to load the graph", label.value)
        };
        out.push((
            graph.revisions[*revision].input.file,
            Diagnostic::new(&RULE, label.range, message),
        ));
    }
}

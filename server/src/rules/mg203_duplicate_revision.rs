use crate::diagnostic::Diagnostic;
use crate::graph::{GraphProblem, RevisionGraph};

declare_rule! {
    /// ## What it does
    /// Reports two files declaring the same revision id, on both.
    ///
    /// ## Why is this bad?
    /// Alembic keeps the later file (in load order) and silently drops the
    /// earlier one from the map, which then shows up as a stray head; which
    /// migration runs depends on file names. Usually a file copied as a
    /// template without a new id.
    ///
    /// ## Example
    /// ```python
    /// # b_add_users.py:  revision = "bbbb0002"
    /// # c_add_orders.py: revision = "bbbb0002"
    /// ```
    pub static RULE = {
        code: "MG203",
        name: "duplicate-revision",
        severity: Error,
        tag: None,
        summary: "two files declare the same revision id",
    };
}

pub fn check(
    graph: &RevisionGraph,
    name: &dyn Fn(usize) -> String,
    out: &mut Vec<(usize, Diagnostic)>,
) {
    for problem in &graph.problems {
        let GraphProblem::Duplicate { revisions } = problem else {
            continue;
        };
        for &r in revisions {
            let rev = &graph.revisions[r];
            let others: Vec<String> = revisions
                .iter()
                .filter(|&&o| o != r)
                .map(|&o| name(graph.revisions[o].input.file))
                .collect();
            let fate = if rev.shadowed {
                "Alembic ignores this file in favour of the later one"
            } else {
                "Alembic uses this file and ignores the earlier one"
            };
            out.push((
                rev.input.file,
                Diagnostic::new(
                    &RULE,
                    rev.input.id.range,
                    format!(
                        "revision `{}` is also declared in {}; {fate}",
                        rev.id(),
                        others.join(", ")
                    ),
                ),
            ));
        }
    }
}

use crate::diagnostic::Diagnostic;
use crate::graph::{GraphProblem, RevisionGraph};

declare_rule! {
    /// ## What it does
    /// Reports a `down_revision` or `depends_on` entry naming a revision (or
    /// branch label) that is not in the graph. The finding points at that
    /// string. Alembic does no prefix matching here, and neither does this.
    ///
    /// ## Why is this bad?
    /// Alembic refuses to load a graph with a missing parent (`KeyError`):
    /// every `alembic` command fails until it is fixed. Usual causes: a
    /// parent deleted or renamed on another branch, a typo, a shortened id,
    /// or `down_revision = ""` (which names the empty id; a base is `None`).
    ///
    /// ## Example
    /// ```python
    /// down_revision = "1975ea83"  # the full id is 1975ea83b712
    /// ```
    pub static RULE = {
        code: "MG202",
        name: "unknown-revision",
        severity: Error,
        tag: None,
        summary: "down_revision / depends_on names a revision that is not in the graph",
    };
}

pub fn check(graph: &RevisionGraph, out: &mut Vec<(usize, Diagnostic)>) {
    for problem in &graph.problems {
        let GraphProblem::Missing {
            revision,
            name,
            in_depends_on,
        } = problem
        else {
            continue;
        };
        let variable = if *in_depends_on {
            "depends_on"
        } else {
            "down_revision"
        };
        let mut message = if name.value.is_empty() {
            format!("`{variable}` names the empty revision id \"\": write `None` for a base")
        } else {
            format!(
                "`{variable}` names `{}`, which is not a revision in this graph: Alembic fails to load it",
                name.value
            )
        };
        let candidates: Vec<&str> = graph
            .by_id
            .keys()
            .filter(|id| !name.value.is_empty() && id.starts_with(&name.value))
            .map(String::as_str)
            .collect();
        if let [only] = candidates.as_slice() {
            message.push_str(&format!(
                " (did you mean `{only}`? ids are never matched by prefix)"
            ));
        }
        out.push((
            graph.revisions[*revision].input.file,
            Diagnostic::new(&RULE, name.range, message),
        ));
    }
}

use crate::diagnostic::Diagnostic;
use crate::graph::{GraphProblem, RevisionGraph};

declare_rule! {
    /// ## What it does
    /// Reports a cycle through `down_revision` or `depends_on`, self-loops
    /// included, on each revision Alembic names in its error (those not
    /// reachable both from a head and from a base).
    ///
    /// ## Why is this bad?
    /// Alembic refuses to load a graph with a cycle (`CycleDetected`,
    /// `DependencyCycleDetected`, `LoopDetected`): no migration can run.
    ///
    /// ## Example
    /// ```python
    /// # a.py: revision = "aaaa0001"; down_revision = "bbbb0002"
    /// # b.py: revision = "bbbb0002"; down_revision = "aaaa0001"
    /// ```
    pub static RULE = {
        code: "MG204",
        name: "revision-cycle",
        severity: Error,
        tag: None,
        summary: "a cycle through down_revision or depends_on",
    };
}

pub fn check(graph: &RevisionGraph, out: &mut Vec<(usize, Diagnostic)>) {
    for problem in &graph.problems {
        match problem {
            GraphProblem::SelfLoop {
                revision,
                name,
                in_depends_on,
            } => {
                let variable = if *in_depends_on {
                    "depends_on"
                } else {
                    "down_revision"
                };
                out.push((
                    graph.revisions[*revision].input.file,
                    Diagnostic::new(
                        &RULE,
                        name.range,
                        format!("`{variable}` names the revision itself (`{}`): Alembic refuses a self-loop", name.value),
                    ),
                ));
            }
            GraphProblem::Cycle {
                revisions,
                through_depends_on,
            } => {
                let ids: Vec<&str> = revisions.iter().map(|&r| graph.revisions[r].id()).collect();
                let via = if *through_depends_on {
                    "down_revision and depends_on"
                } else {
                    "down_revision"
                };
                for &r in revisions {
                    let rev = &graph.revisions[r];
                    let range = rev
                        .input
                        .down_revision
                        .as_ref()
                        .and_then(|d| d.first())
                        .map_or(rev.input.id.range, |d| d.range);
                    out.push((
                        rev.input.file,
                        Diagnostic::new(
                            &RULE,
                            range,
                            format!(
                                "revision `{}` is in a cycle through {via} ({}): Alembic cannot load the graph",
                                rev.id(),
                                ids.join(", ")
                            ),
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
}

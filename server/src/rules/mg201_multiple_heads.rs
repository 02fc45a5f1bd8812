use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::graph::RevisionGraph;

declare_rule! {
    /// ## What it does
    /// Reports more heads than allowed: by default one (`max-heads`), or,
    /// with `branches = ["expand", "contract"]`, one head per listed branch
    /// label (heads carrying none of them count as one more group). Reported
    /// on the `revision` line of every head, naming the others. Heads are
    /// what `alembic heads` lists: revisions no `down_revision` names.
    ///
    /// ## Why is this bad?
    /// With two heads, `alembic upgrade head` fails ("Multiple head
    /// revisions are present"): typically two branches each added a
    /// migration on the same parent, and the second to merge broke deploys.
    ///
    /// ## Example
    /// ```python
    /// # a1_add_users.py:  revision = "a1"; down_revision = "base"
    /// # b2_add_orders.py: revision = "b2"; down_revision = "base"
    /// ```
    ///
    /// Fix: re-point one `down_revision` onto the other head, or create a
    /// merge revision (`alembic merge heads`); the editor offers both.
    pub static RULE = {
        code: "MG201",
        name: "multiple-heads",
        severity: Error,
        tag: None,
        summary: "more heads than allowed",
    };
}

pub fn check(graph: &RevisionGraph, config: &Config, out: &mut Vec<(usize, Diagnostic)>) {
    // Unknown edges (MG002) would make parents look like heads, and in a
    // graph Alembic cannot load the head count is moot: the cause is reported.
    if !graph.complete || !graph.ok() {
        return;
    }
    let groups: Vec<(Option<&str>, Vec<usize>)> = if config.branches.is_empty() {
        vec![(None, graph.heads.clone())]
    } else {
        let mut groups: Vec<(Option<&str>, Vec<usize>)> = config
            .branches
            .iter()
            .map(|b| (Some(b.as_str()), graph.label_heads(b)))
            .collect();
        let unlabeled = graph
            .heads
            .iter()
            .copied()
            .filter(|&h| {
                !config
                    .branches
                    .iter()
                    .any(|b| graph.revisions[h].branch_labels.contains(b))
            })
            .collect();
        groups.push((None, unlabeled));
        groups
    };
    for (label, heads) in groups {
        let allowed = if label.is_some() || !config.branches.is_empty() {
            1
        } else {
            config.max_heads
        };
        if heads.len() <= allowed {
            continue;
        }
        for &head in &heads {
            let rev = &graph.revisions[head];
            let others: Vec<String> = heads
                .iter()
                .filter(|&&h| h != head)
                .map(|&h| format!("`{}`", graph.revisions[h].id()))
                .collect();
            let scope = match label {
                Some(l) => format!("branch `{l}` has {} heads", heads.len()),
                None => format!("{} heads (allowed: {allowed})", heads.len()),
            };
            out.push((
                rev.input.file,
                Diagnostic::new(
                    &RULE,
                    rev.input.id.range,
                    format!(
                        "multiple heads: `{}` is a head beside {}; {scope}, so `alembic upgrade head` fails. Merge them or re-point `down_revision`",
                        rev.id(),
                        others.join(", ")
                    ),
                ),
            ));
        }
    }
}

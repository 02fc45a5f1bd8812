use crate::diagnostic::Diagnostic;
use crate::migration::DeclValue;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags a docstring header whose `Revision ID:` or `Revises:` disagrees
    /// with the `revision` / `down_revision` variables.
    ///
    /// ## Why is this bad?
    /// Alembic reads only the variables; people read the header. A header
    /// left over from a copied file or a re-pointed `down_revision` tells
    /// reviewers a different graph than the one that runs.
    ///
    /// ## Example
    /// ```python
    /// """add users
    ///
    /// Revision ID: ffff9999
    /// Revises: bbbb0002
    /// """
    /// revision = "cccc0003"
    /// down_revision = "aaaa0001"
    /// ```
    pub static RULE = {
        code: "MG205",
        name: "header-mismatch",
        severity: Warning,
        tag: None,
        summary: "the docstring Revision ID / Revises disagree with the variables",
    };
}

pub fn check(ctx: &FileContext, out: &mut Vec<Diagnostic>) {
    let file = ctx.file;
    let header = &file.header;
    if let (Some(documented), Some(actual)) = (&header.revision_id, file.revision_id()) {
        if documented.value != actual.value {
            out.push(Diagnostic::new(
                &RULE,
                documented.range,
                format!(
                    "the header says `Revision ID: {}` but `revision = \"{}\"`",
                    documented.value, actual.value
                ),
            ));
        }
    }
    let (Some(revises), Some(range), Some(decl)) =
        (&header.revises, header.revises_range, &file.down_revision)
    else {
        return;
    };
    if matches!(decl.value, DeclValue::Dynamic) {
        return;
    }
    let mut documented: Vec<&str> = revises.iter().map(|i| i.value.as_str()).collect();
    let mut actual: Vec<&str> = decl
        .value
        .ids()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.value.as_str())
        .collect();
    documented.sort_unstable();
    actual.sort_unstable();
    if documented != actual {
        let show = |ids: &[&str]| {
            if ids.is_empty() {
                "None".to_owned()
            } else {
                ids.iter()
                    .map(|i| format!("\"{i}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        out.push(Diagnostic::new(
            &RULE,
            range,
            format!(
                "the header says `Revises: {}` but `down_revision` is {}",
                if documented.is_empty() {
                    "None".to_owned()
                } else {
                    documented.join(", ")
                },
                show(&actual)
            ),
        ));
    }
}

use crate::diagnostic::Diagnostic;
use crate::migration::DeclValue;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags a migration whose `upgrade()` does nothing: its body is only
    /// `pass`, `...`, a docstring or comments. Merge revisions are included.
    /// With the multi-database template (`upgrade_<name>()`), it fires when
    /// every upgrade function is empty, on the first one.
    ///
    /// ## Why is this bad?
    /// An empty migration is usually a mistake: autogenerate found nothing
    /// because the model change was not imported, or the body was never
    /// written. It still takes a revision and a place in the graph. When it
    /// is intended (a merge of two heads, a placeholder), say so.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     pass
    /// ```
    ///
    /// Use instead: write the change, or allow the empty migration:
    /// ```python
    /// def upgrade():
    ///     # empty: allow -- merges the billing and auth heads
    ///     pass
    /// ```
    ///
    /// ## Approval
    /// `# empty: allow`, anywhere in the body of `upgrade()` or in the comment
    /// lines right above `def upgrade`.
    pub static RULE = {
        code: "MG102",
        name: "empty-unallowed",
        severity: Error,
        tag: Some("empty: allow"),
        summary: "upgrade() has no statement but pass, ... or a docstring",
    };
}

pub fn check(ctx: &FileContext, out: &mut Vec<Diagnostic>) {
    let file = ctx.file;
    let mut upgrades = file.upgrade_functions().map(|(_, f)| f).peekable();
    let Some(first) = upgrades.peek().copied() else {
        return;
    };
    if !upgrades.all(|f| f.is_empty) {
        return;
    }
    let merge = file
        .down_revision
        .as_ref()
        .is_some_and(|d| matches!(&d.value, DeclValue::Seq(ids) if ids.len() > 1));
    let what = if merge {
        "this merge revision's"
    } else {
        "this migration's"
    };
    out.push(
        Diagnostic::new(
            &RULE,
            first.name_range,
            format!(
                "{what} {}() is empty: allow it explicitly if that is intended",
                first.name
            ),
        )
        .anchored_to_function(first.def_range),
    );
}

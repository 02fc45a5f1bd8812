use crate::diagnostic::Diagnostic;
use crate::migration::FunctionKind;
use crate::position::TextRange;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Reports a migration that defines no `upgrade()` function (nor an
    /// `upgrade_<name>()` of the multi-database template).
    ///
    /// ## Why is this bad?
    /// `alembic upgrade` calls `upgrade()` on every revision it applies: a
    /// revision without one fails in the middle of a deployment, after the
    /// revisions before it have already run.
    ///
    /// ## Example
    /// ```python
    /// revision = "3f2a9c1d4e5b"
    /// down_revision = "1975ea83b712"
    ///
    /// def downgrade():
    ///     pass
    /// ```
    pub static RULE = {
        code: "MG003",
        name: "missing-upgrade",
        severity: Error,
        tag: None,
        summary: "a migration with no upgrade function",
    };
}

pub fn check(ctx: &FileContext, out: &mut Vec<Diagnostic>) {
    let file = ctx.file;
    let is_migration = file.revision.is_some() || file.down_revision.is_some();
    if !is_migration
        || file
            .functions
            .iter()
            .any(|f| f.kind == FunctionKind::Upgrade)
    {
        return;
    }
    // A file that does not parse may have lost its `def upgrade`: MG001 says why.
    if !file.syntax_errors.is_empty() {
        return;
    }
    let range = file
        .revision
        .as_ref()
        .map(|d| d.statement_range)
        .unwrap_or(TextRange::empty(0));
    out.push(Diagnostic::new(
        &RULE,
        range,
        "this migration has no `upgrade()` function: `alembic upgrade` fails when it reaches it",
    ));
}

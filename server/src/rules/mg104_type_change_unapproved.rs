use crate::diagnostic::Diagnostic;
use crate::migration::Expr;
use crate::rules::sql::ChangeKind;
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags a column type change in `upgrade()` without the approval tag:
    /// `op.alter_column(..., type_=...)` (batch aliases included) and
    /// `ALTER TABLE … ALTER COLUMN … [SET DATA] TYPE` in `op.execute` SQL.
    ///
    /// ## Why is this bad?
    /// Unless the new type is binary-compatible (`varchar(50)` to
    /// `varchar(100)`, `varchar` to `text`), PostgreSQL rewrites the whole
    /// table and its indexes under an ACCESS EXCLUSIVE lock: no reads, no
    /// writes, for as long as the rewrite takes. Values may also fail to
    /// convert, or convert lossily (a narrower type, a changed precision).
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.alter_column("orders", "amount", type_=sa.Numeric(12, 2))
    /// ```
    ///
    /// Use instead: on a large table, add a new column, backfill it in
    /// batches, switch the code, drop the old one. When the change is known
    /// to be cheap or the table small, approve it:
    /// ```python
    /// def upgrade():
    ///     # type-change: approved -- 2k rows, maintenance window
    ///     op.alter_column("orders", "amount", type_=sa.Numeric(12, 2))
    /// ```
    ///
    /// ## Approval
    /// `# type-change: approved`, as a trailing comment on any line of the
    /// statement or in the comment lines right above it.
    pub static RULE = {
        code: "MG104",
        name: "type-change-unapproved",
        severity: Error,
        tag: Some("type-change: approved"),
        summary: "an alter_column(type_=...) or SQL ALTER COLUMN TYPE in upgrade without approval",
    };
}

pub fn check(_ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        if op.method != "alter_column"
            || op.kwarg("type_").is_none_or(|t| matches!(t, Expr::None(_)))
        {
            continue;
        }
        let column = upgrade.show(op.arg("column_name"));
        out.push(
            Diagnostic::new(
                &RULE,
                op.call.range,
                format!(
                    "`{}` changes the type of `{}.{column}`: it may rewrite the table under an ACCESS EXCLUSIVE lock; it needs approval",
                    op.display_name(),
                    upgrade.table_name(op)
                ),
            )
            .anchored_to_statement(op.statement_range),
        );
    }
    for sql in &upgrade.sql {
        for change in sql
            .changes
            .iter()
            .filter(|c| c.kind == ChangeKind::AlterColumnType)
        {
            out.push(
                Diagnostic::new(
                    &RULE,
                    change.range,
                    format!(
                        "`{}` changes a column type: it may rewrite the table under an ACCESS EXCLUSIVE lock; it needs approval",
                        change.snippet
                    ),
                )
                .anchored_to_statement(sql.op.statement_range),
            );
        }
    }
}

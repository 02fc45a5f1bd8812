use crate::diagnostic::Diagnostic;
use crate::migration::Expr;
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags a NOT NULL change in `upgrade()` without the approval tag:
    /// `op.alter_column(..., nullable=False)`, and `op.add_column` of a
    /// `Column(..., nullable=False)` (or `primary_key=True` without
    /// `nullable`), batch aliases included. The message says when the
    /// statement fails outright: a NOT NULL column added to an existing table
    /// without a `server_default`.
    ///
    /// A table created earlier in the same upgrade is exempt: it has no rows
    /// to backfill.
    ///
    /// ## Why is this bad?
    /// `ALTER TABLE … ADD COLUMN … NOT NULL` without a default fails on any
    /// table that has rows. `SET NOT NULL` fails if a single row still holds
    /// NULL, and checks every row under an ACCESS EXCLUSIVE lock while it
    /// does. Either the rows were backfilled first, or the deploy fails (or
    /// blocks the table) in production while it passed on an empty database.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.add_column("users", sa.Column("tenant_id", sa.Integer(), nullable=False))
    /// ```
    ///
    /// Use instead: add the column nullable, backfill it, then set NOT NULL
    /// and acknowledge it:
    /// ```python
    /// def upgrade():
    ///     op.add_column("users", sa.Column("tenant_id", sa.Integer(), nullable=True))
    ///     op.execute("UPDATE users SET tenant_id = 1 WHERE tenant_id IS NULL")
    ///     op.alter_column("users", "tenant_id", nullable=False)  # backfill: ok
    /// ```
    ///
    /// ## Approval
    /// `# backfill: ok`, as a trailing comment on any line of the statement or
    /// in the comment lines right above it.
    pub static RULE = {
        code: "MG103",
        name: "backfill-unacknowledged",
        severity: Error,
        tag: Some("backfill: ok"),
        summary: "a NOT NULL column (add_column, alter_column nullable=False) in upgrade without acknowledgement",
    };
}

pub fn check(_ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        let table = upgrade.table_name(op);
        if upgrade.is_new(op) {
            continue;
        }
        let message = match op.method.as_str() {
            "alter_column" if matches!(op.kwarg("nullable"), Some(Expr::Bool(false, _))) => {
                let column = upgrade.show(op.arg("column_name"));
                format!(
                    "`{}` sets `{table}.{column}` NOT NULL: it fails if any row still holds NULL (checked under an ACCESS EXCLUSIVE lock); acknowledge the backfill",
                    op.display_name()
                )
            }
            "add_column" => {
                let Some(column) = op.arg("column").and_then(Expr::as_call) else {
                    continue;
                };
                if column.callee_name() != "Column" {
                    continue;
                }
                let nullable = column.kwarg("nullable");
                let primary_key = column.kwarg("primary_key").is_some_and(Expr::is_true);
                let not_null = matches!(nullable, Some(Expr::Bool(false, _)))
                    || (primary_key && nullable.is_none());
                if !not_null {
                    continue;
                }
                let name = upgrade.show(column.args.first());
                let has_default = column
                    .kwarg("server_default")
                    .is_some_and(|d| !matches!(d, Expr::None(_)));
                if has_default {
                    format!(
                        "`{}` adds NOT NULL column `{table}.{name}`: existing rows get its server_default; acknowledge that this is the backfill",
                        op.display_name()
                    )
                } else {
                    format!(
                        "`{}` adds NOT NULL column `{table}.{name}` without a server_default: it fails outright if `{table}` has any row",
                        op.display_name()
                    )
                }
            }
            _ => continue,
        };
        out.push(
            Diagnostic::new(&RULE, op.call.range, message)
                .anchored_to_statement(op.statement_range),
        );
    }
}

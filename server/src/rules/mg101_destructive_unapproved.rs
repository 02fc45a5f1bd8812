use crate::diagnostic::Diagnostic;
use crate::rules::sql::ChangeKind;
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags an operation in `upgrade()` that deletes data: `op.drop_table`,
    /// `op.drop_column` (also through a `batch_alter_table` alias), and
    /// `DROP TABLE` / `ALTER TABLE … DROP COLUMN` in `op.execute` SQL, unless
    /// the statement carries the approval tag.
    ///
    /// ## Why is this bad?
    /// A dropped table or column cannot be brought back by `alembic
    /// downgrade`: the schema can be, the data cannot. And code still running
    /// the previous release (during a rolling deploy) fails as soon as the
    /// column is gone. A drop should be a decision someone made, visible in
    /// review, not a line autogenerate slipped in.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.drop_column("users", "legacy_flags")
    /// ```
    ///
    /// Use instead: first ship code that no longer reads the column, then
    /// drop it in a later migration, approved:
    /// ```python
    /// def upgrade():
    ///     # destructive: approved -- unused since release 42
    ///     op.drop_column("users", "legacy_flags")
    /// ```
    ///
    /// ## Approval
    /// `# destructive: approved`, as a trailing comment on any line of the
    /// statement or in the comment lines right above it. It approves that
    /// statement only. Operations in `downgrade()` are not checked.
    pub static RULE = {
        code: "MG101",
        name: "destructive-unapproved",
        severity: Error,
        tag: Some("destructive: approved"),
        summary: "a drop_table / drop_column (or SQL DROP) in upgrade without approval",
    };
}

pub fn check(_ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        let what = match op.method.as_str() {
            "drop_table" => format!("table `{}`", upgrade.table_name(op)),
            "drop_column" => {
                let column = upgrade.show(op.arg("column_name"));
                format!("column `{}.{column}`", upgrade.table_name(op))
            }
            _ => continue,
        };
        out.push(
            Diagnostic::new(
                &RULE,
                op.call.range,
                format!(
                    "`{}` in {}() deletes {what} and its data: it needs approval",
                    op.display_name(),
                    upgrade.function_name(op)
                ),
            )
            .anchored_to_statement(op.statement_range),
        );
    }
    for sql in &upgrade.sql {
        for change in &sql.changes {
            let what = match change.kind {
                ChangeKind::DropTable => "a table",
                ChangeKind::DropColumn => "a column",
                _ => continue,
            };
            out.push(
                Diagnostic::new(
                    &RULE,
                    change.range,
                    format!(
                        "`{}` in {}() deletes {what} and its data: it needs approval",
                        change.snippet,
                        upgrade.function_name(sql.op)
                    ),
                )
                .anchored_to_statement(sql.op.statement_range),
            );
        }
    }
}

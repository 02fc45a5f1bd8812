use crate::diagnostic::Diagnostic;
use crate::migration::Expr;
use crate::rules::sql::ChangeKind;
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags a rename of a table or column: `op.rename_table`,
    /// `op.alter_column(..., new_column_name=...)` (or a batch alias), and SQL
    /// `ALTER TABLE … RENAME TO` / `RENAME [COLUMN] … TO` in `op.execute`.
    /// Renaming an index or a constraint is not flagged (code does not name
    /// them), nor is a table created earlier in the same upgrade.
    ///
    /// ## Why is this bad?
    /// During a deploy the old release is still running: the moment the
    /// rename commits, every query it sends with the old name fails. A
    /// rename cannot be made compatible with both releases at once.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.alter_column("users", "name", new_column_name="full_name")
    /// ```
    ///
    /// Use instead: expand and contract. Add the new column, write to both
    /// and backfill, move the reads, then drop the old column in a later
    /// release (or use a view for a table).
    pub static RULE = {
        code: "MG306",
        name: "rename",
        severity: Warning,
        tag: None,
        summary: "rename_table, alter_column(new_column_name=...), SQL RENAME",
    };
}

pub fn check(_ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        let table = upgrade.table_name(op);
        let message = match op.method.as_str() {
            "rename_table" => {
                let new = upgrade.show(op.arg("new_table_name"));
                format!(
                    "`{}` renames table `{table}` to `{new}`: the running release still queries `{table}`; use expand/contract",
                    op.display_name()
                )
            }
            "alter_column" => {
                let Some(new) = op.kwarg("new_column_name") else {
                    continue;
                };
                if matches!(new, Expr::None(_)) {
                    continue;
                }
                let column = upgrade.show(op.arg("column_name"));
                format!(
                    "`{}` renames column `{table}.{column}` to `{}`: the running release still uses `{column}`; use expand/contract",
                    op.display_name(),
                    upgrade.show(Some(new))
                )
            }
            _ => continue,
        };
        if upgrade.is_new(op) {
            continue;
        }
        out.push(Diagnostic::new(&RULE, op.call.range, message));
    }
    for sql in &upgrade.sql {
        for change in sql.changes.iter().filter(|c| c.kind == ChangeKind::Rename) {
            if upgrade.is_new_table(sql.op.function, change.range.start, change.table.as_deref()) {
                continue;
            }
            out.push(Diagnostic::new(
                &RULE,
                change.range,
                format!(
                    "`{}` renames while the running release still uses the old name; use expand/contract",
                    change.snippet
                ),
            ));
        }
    }
}

use crate::diagnostic::Diagnostic;
use crate::migration::Expr;
use crate::rules::rewrite;
use crate::rules::sql::{ChangeKind, ConstraintKind};
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags a foreign key or check constraint added to an existing table
    /// with validation: `op.create_foreign_key` / `op.create_check_constraint`
    /// (or batch aliases) without `postgresql_not_valid=True`, and SQL
    /// `ADD [CONSTRAINT …] FOREIGN KEY` / `CHECK` without `NOT VALID`. A table
    /// created earlier in the same upgrade is exempt.
    ///
    /// ## Why is this bad?
    /// Adding the constraint scans the whole table to validate existing rows
    /// while holding a lock that blocks writes (and, for a foreign key, a
    /// lock on the referenced table too). `NOT VALID` adds it instantly for
    /// new rows; `VALIDATE CONSTRAINT` later checks the old ones under a lock
    /// that lets reads and writes go on.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def upgrade():
    ///     op.create_foreign_key(
    ///         "fk_orders_user", "orders", "users", ["user_id"], ["id"],
    ///         postgresql_not_valid=True,
    ///     )
    ///
    /// # and in a later migration:
    /// def upgrade():
    ///     op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")
    /// ```
    pub static RULE = {
        code: "MG304",
        name: "constraint-validates",
        severity: Warning,
        tag: None,
        summary: "a foreign key or check constraint added without NOT VALID",
    };
}

pub fn check(_ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        let what = match op.method.as_str() {
            "create_foreign_key" => "foreign key",
            "create_check_constraint" => "check constraint",
            _ => continue,
        };
        if op.kwarg("postgresql_not_valid").is_some_and(Expr::is_true) || upgrade.is_new(op) {
            continue;
        }
        let mut d = Diagnostic::new(
            &RULE,
            op.call.range,
            format!(
                "`{}` validates the new {what} against every row of `{}` while blocking writes: add it NOT VALID and validate later",
                op.display_name(),
                upgrade.table_name(op)
            ),
        );
        if let Some(edit) = rewrite::set_true(op, "postgresql_not_valid") {
            d = d.with_fix(rewrite::fix("Add `postgresql_not_valid=True`", vec![edit]));
        }
        out.push(d);
    }
    for sql in &upgrade.sql {
        for change in &sql.changes {
            let ChangeKind::AddConstraint(
                kind @ (ConstraintKind::ForeignKey | ConstraintKind::Check),
            ) = change.kind
            else {
                continue;
            };
            if change.not_valid
                || upgrade.is_new_table(
                    sql.op.function,
                    change.range.start,
                    change.table.as_deref(),
                )
            {
                continue;
            }
            let mut d = Diagnostic::new(
                &RULE,
                change.range,
                format!(
                    "`{}` validates the new {} constraint against every row while blocking writes: add it NOT VALID and validate later",
                    change.snippet,
                    kind.sql()
                ),
            );
            if let Some(at) = change.not_valid_at {
                d = d.with_fix(rewrite::fix(
                    "Add `NOT VALID`",
                    vec![rewrite::insert(at, " NOT VALID")],
                ));
            }
            out.push(d);
        }
    }
}

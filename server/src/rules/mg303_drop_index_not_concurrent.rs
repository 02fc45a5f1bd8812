use crate::diagnostic::Diagnostic;
use crate::migration::Expr;
use crate::rules::mg301_index_not_concurrent::{
    concurrently_in_autocommit, sql_concurrently_in_autocommit,
};
use crate::rules::sql::ChangeKind;
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags an index dropped without `CONCURRENTLY`: `op.drop_index` (or a
    /// batch alias) without `postgresql_concurrently=True`, and SQL
    /// `DROP INDEX` without `CONCURRENTLY` in `op.execute`. An index on a
    /// table created earlier in the same upgrade is exempt.
    ///
    /// ## Why is this bad?
    /// `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table. It is
    /// quick once granted, but it queues behind every running query on the
    /// table, and every later query queues behind it: a long report can
    /// stall all traffic to the table. `DROP INDEX CONCURRENTLY` waits
    /// without blocking others.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.drop_index("ix_orders_legacy", table_name="orders")
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def upgrade():
    ///     with op.get_context().autocommit_block():
    ///         op.drop_index(
    ///             "ix_orders_legacy", table_name="orders", postgresql_concurrently=True
    ///         )
    /// ```
    pub static RULE = {
        code: "MG303",
        name: "drop-index-not-concurrent",
        severity: Warning,
        tag: None,
        summary: "drop_index / SQL DROP INDEX without CONCURRENTLY",
    };
}

pub fn check(ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        let at = op.call.range.start;
        if op.method != "drop_index"
            || op
                .kwarg("postgresql_concurrently")
                .is_some_and(Expr::is_true)
            || upgrade.is_new(op)
            || upgrade.is_new_index(op.function, at, op.arg("index_name"))
        {
            continue;
        }
        let mut d = Diagnostic::new(
            &RULE,
            op.call.range,
            format!(
                "`{}` drops index `{}` without CONCURRENTLY: it waits for, and then blocks, every query on the table",
                op.display_name(),
                upgrade.show(op.arg("index_name"))
            ),
        );
        if let Some(fix) = concurrently_in_autocommit(ctx, upgrade, op) {
            d = d.with_fix(fix);
        }
        out.push(d);
    }
    for sql in &upgrade.sql {
        for change in &sql.changes {
            if change.kind != ChangeKind::DropIndex
                || change.concurrently
                || upgrade.is_new_sql_index(
                    sql.op.function,
                    change.range.start,
                    change.index.as_deref(),
                )
            {
                continue;
            }
            let mut d = Diagnostic::new(
                &RULE,
                change.range,
                format!(
                    "`{}` drops an index without CONCURRENTLY: it waits for, and then blocks, every query on the table",
                    change.snippet
                ),
            );
            if let Some(fix) = sql_concurrently_in_autocommit(ctx, sql, change) {
                d = d.with_fix(fix);
            }
            out.push(d);
        }
    }
}

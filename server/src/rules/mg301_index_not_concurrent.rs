use crate::diagnostic::{Diagnostic, Edit};
use crate::migration::{Expr, OpCall};
use crate::rules::rewrite;
use crate::rules::sql::{ChangeKind, ExecutedSql, SqlChange};
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags an index built without `CONCURRENTLY` on an existing table:
    /// `op.create_index` (or a batch alias) without
    /// `postgresql_concurrently=True`, and SQL `CREATE INDEX` without
    /// `CONCURRENTLY` in `op.execute`. A call of a configured
    /// `concurrent-index-helpers` function is safe, and so is an index on a
    /// table created earlier in the same upgrade.
    ///
    /// ## Why is this bad?
    /// `CREATE INDEX` holds a SHARE lock on the table until the index is
    /// built: every `INSERT`, `UPDATE` and `DELETE` waits, for minutes on a
    /// large table. `CREATE INDEX CONCURRENTLY` builds it while writes go on.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.create_index("ix_orders_user_id", "orders", ["user_id"])
    /// ```
    ///
    /// Use instead (`CONCURRENTLY` cannot run in a transaction, hence the
    /// autocommit block):
    /// ```python
    /// def upgrade():
    ///     with op.get_context().autocommit_block():
    ///         op.create_index(
    ///             "ix_orders_user_id", "orders", ["user_id"], postgresql_concurrently=True
    ///         )
    /// ```
    ///
    /// The fix does this rewrite, or calls the first configured helper.
    pub static RULE = {
        code: "MG301",
        name: "index-not-concurrent",
        severity: Warning,
        tag: None,
        summary: "create_index / SQL CREATE INDEX without CONCURRENTLY on an existing table",
    };
}

pub fn check(ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        if op.method != "create_index"
            || op
                .kwarg("postgresql_concurrently")
                .is_some_and(Expr::is_true)
            || upgrade.is_new(op)
        {
            continue;
        }
        let index = upgrade.show(op.arg("index_name"));
        let table = upgrade.table_name(op);
        let mut d = Diagnostic::new(
            &RULE,
            op.call.range,
            format!(
                "`{}` builds index `{index}` without CONCURRENTLY: writes to `{table}` are blocked until it is built",
                op.display_name()
            ),
        );
        let helper = ctx
            .config
            .concurrent_index_helpers
            .first()
            .and_then(|h| rewrite::call_helper(ctx.file, op, h));
        if let Some(fix) = helper.or_else(|| concurrently_in_autocommit(ctx, upgrade, op)) {
            d = d.with_fix(fix);
        }
        out.push(d);
    }
    for sql in &upgrade.sql {
        for change in &sql.changes {
            if change.kind != ChangeKind::CreateIndex
                || change.concurrently
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
                    "`{}` builds an index without CONCURRENTLY: writes to the table are blocked until it is built",
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

/// Adds `postgresql_concurrently=True` and, unless the call already is in
/// one, wraps it in an autocommit block. Shared with MG303.
pub fn concurrently_in_autocommit(
    ctx: &FileContext,
    upgrade: &Upgrade,
    op: &OpCall,
) -> Option<crate::diagnostic::Fix> {
    let mut edits: Vec<Edit> = vec![rewrite::set_true(op, "postgresql_concurrently")?];
    if !upgrade.runs_in_autocommit(op) {
        edits.extend(rewrite::wrap_in_autocommit(ctx.file, op)?);
    }
    Some(rewrite::fix(
        "Add `postgresql_concurrently=True` inside `autocommit_block()`",
        edits,
    ))
}

/// Inserts `CONCURRENTLY` into the SQL and wraps the `op.execute` in an
/// autocommit block; only for a string of one statement (PostgreSQL runs a
/// multi-statement string in one implicit transaction). Shared with MG303.
pub fn sql_concurrently_in_autocommit(
    ctx: &FileContext,
    sql: &ExecutedSql,
    change: &SqlChange,
) -> Option<crate::diagnostic::Fix> {
    if sql.statement_count != 1 {
        return None;
    }
    let mut edits = vec![rewrite::insert(change.concurrently_at?, " CONCURRENTLY")];
    if !sql.op.in_autocommit {
        edits.extend(rewrite::wrap_in_autocommit(ctx.file, sql.op)?);
    }
    Some(rewrite::fix(
        "Add `CONCURRENTLY` inside `autocommit_block()`",
        edits,
    ))
}

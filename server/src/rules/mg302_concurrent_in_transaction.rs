use crate::diagnostic::Diagnostic;
use crate::migration::Expr;
use crate::rules::rewrite;
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags a concurrent operation that would run inside the migration's
    /// transaction: `postgresql_concurrently=True` on `create_index` /
    /// `drop_index`, or SQL `CONCURRENTLY` (`CREATE INDEX`, `DROP INDEX`,
    /// `REINDEX`, `DETACH PARTITION`) in `op.execute`, outside
    /// `with op.get_context().autocommit_block():`. SQL `CONCURRENTLY` in a
    /// string that holds several statements is flagged even inside the block.
    /// New tables are not exempt: the statement fails whatever the table. A
    /// batch operation runs when its batch block ends, so the batch block
    /// must be inside the autocommit block.
    ///
    /// ## Why is this bad?
    /// PostgreSQL refuses these statements in a transaction block
    /// (`CREATE INDEX CONCURRENTLY cannot run inside a transaction block`),
    /// and Alembic runs each migration in one on PostgreSQL. A string of
    /// several statements is also one implicit transaction. The migration
    /// fails at deploy time.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.create_index("ix_a", "t", ["a"], postgresql_concurrently=True)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def upgrade():
    ///     with op.get_context().autocommit_block():
    ///         op.create_index("ix_a", "t", ["a"], postgresql_concurrently=True)
    /// ```
    pub static RULE = {
        code: "MG302",
        name: "concurrent-in-transaction",
        severity: Error,
        tag: None,
        summary: "CONCURRENTLY outside autocommit_block()",
    };
}

pub fn check(ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        let concurrent = matches!(op.method.as_str(), "create_index" | "drop_index")
            && op
                .kwarg("postgresql_concurrently")
                .is_some_and(Expr::is_true);
        if !concurrent || upgrade.runs_in_autocommit(op) {
            continue;
        }
        let message = if op.in_autocommit {
            // Inside an autocommit block that is inside the batch block.
            format!(
                "`{}` with postgresql_concurrently=True runs when its batch block ends, outside `autocommit_block()`: PostgreSQL refuses it; put the batch block inside the autocommit block",
                op.display_name()
            )
        } else {
            format!(
                "`{}` with postgresql_concurrently=True runs in the migration's transaction: PostgreSQL refuses it; use `autocommit_block()`",
                op.display_name()
            )
        };
        let mut d = Diagnostic::new(&RULE, op.call.range, message);
        if let Some(edits) = rewrite::wrap_in_autocommit(ctx.file, op) {
            d = d.with_fix(rewrite::fix("Wrap in `autocommit_block()`", edits));
        }
        out.push(d);
    }
    for sql in &upgrade.sql {
        let several = sql.statement_count > 1;
        for change in sql.changes.iter().filter(|c| c.concurrently) {
            if sql.op.in_autocommit && !several {
                continue;
            }
            let message = if sql.op.in_autocommit {
                format!(
                    "`{}` is one of several statements in this string: PostgreSQL runs them in one implicit transaction and refuses CONCURRENTLY; execute it on its own",
                    change.snippet
                )
            } else {
                format!(
                    "`{}` runs in the migration's transaction: PostgreSQL refuses CONCURRENTLY there; use `autocommit_block()`",
                    change.snippet
                )
            };
            let mut d = Diagnostic::new(&RULE, change.range, message);
            if !several {
                if let Some(edits) = rewrite::wrap_in_autocommit(ctx.file, sql.op) {
                    d = d.with_fix(rewrite::fix("Wrap in `autocommit_block()`", edits));
                }
            }
            out.push(d);
        }
    }
}

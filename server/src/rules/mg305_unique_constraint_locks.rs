use crate::diagnostic::Diagnostic;
use crate::rules::sql::{ChangeKind, ConstraintKind};
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags a unique constraint or primary key added to an existing table:
    /// `op.create_unique_constraint` / `op.create_primary_key` (or batch
    /// aliases), and SQL `ADD [CONSTRAINT …] UNIQUE` / `PRIMARY KEY` in
    /// `op.execute`, unless it attaches an existing index (`USING INDEX`). A
    /// table created earlier in the same upgrade is exempt.
    ///
    /// ## Why is this bad?
    /// The constraint builds its unique index inside `ALTER TABLE`, holding
    /// an ACCESS EXCLUSIVE lock for the whole build: no reads and no writes
    /// on the table until it is done.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.create_unique_constraint("uq_users_email", "users", ["email"])
    /// ```
    ///
    /// Use instead: build the index concurrently, then attach it:
    /// ```python
    /// def upgrade():
    ///     with op.get_context().autocommit_block():
    ///         op.create_index(
    ///             "uq_users_email", "users", ["email"], unique=True,
    ///             postgresql_concurrently=True,
    ///         )
    ///     op.execute(
    ///         "ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE USING INDEX uq_users_email"
    ///     )
    /// ```
    pub static RULE = {
        code: "MG305",
        name: "unique-constraint-locks",
        severity: Warning,
        tag: None,
        summary: "a unique constraint or primary key added to an existing table",
    };
}

pub fn check(_ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        let what = match op.method.as_str() {
            "create_unique_constraint" => "unique constraint",
            "create_primary_key" => "primary key",
            _ => continue,
        };
        if upgrade.is_new(op) {
            continue;
        }
        out.push(Diagnostic::new(
            &RULE,
            op.call.range,
            format!(
                "`{}` builds the {what}'s index on `{}` under an ACCESS EXCLUSIVE lock: build a unique index concurrently and attach it with USING INDEX",
                op.display_name(),
                upgrade.table_name(op)
            ),
        ));
    }
    for sql in &upgrade.sql {
        for change in &sql.changes {
            let ChangeKind::AddConstraint(
                kind @ (ConstraintKind::Unique | ConstraintKind::PrimaryKey),
            ) = change.kind
            else {
                continue;
            };
            if change.using_index
                || upgrade.is_new_table(
                    sql.op.function,
                    change.range.start,
                    change.table.as_deref(),
                )
            {
                continue;
            }
            out.push(Diagnostic::new(
                &RULE,
                change.range,
                format!(
                    "`{}` builds the {} index under an ACCESS EXCLUSIVE lock: build a unique index concurrently and attach it with USING INDEX",
                    change.snippet,
                    kind.sql()
                ),
            ));
        }
    }
}

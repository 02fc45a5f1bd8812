use crate::diagnostic::Diagnostic;
use crate::migration::{Function, FunctionKind};
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Reports a migration whose `upgrade()` changes the schema while its
    /// `downgrade()` is empty, only raises, or is missing. With the
    /// multi-database template, each `upgrade_<name>()` is paired with its
    /// `downgrade_<name>()`.
    ///
    /// A schema change is any Alembic operation except `execute`,
    /// `bulk_insert` and the context helpers, a call of a configured
    /// concurrent-index helper, or `op.execute` of SQL that creates, alters
    /// or drops something. Data-only migrations (`UPDATE`, `INSERT`) are not
    /// reported.
    ///
    /// ## Why is this bad?
    /// `alembic downgrade` is the way back from a bad deploy. A revision
    /// that cannot be downgraded turns a quick rollback into a manual repair
    /// under pressure. Sometimes that is the honest answer: then raise with
    /// a message, and this report is information, not an error.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.add_column("users", sa.Column("age", sa.Integer()))
    ///
    /// def downgrade():
    ///     pass
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def downgrade():
    ///     op.drop_column("users", "age")
    /// ```
    pub static RULE = {
        code: "MG401",
        name: "irreversible-downgrade",
        severity: Info,
        tag: None,
        summary: "upgrade() changes schema but downgrade() is empty or only raises",
    };
}

/// Operations that do not change the schema by themselves.
const NOT_SCHEMA: &[&str] = &[
    "execute",
    "bulk_insert",
    "batch_alter_table",
    "get_context",
    "get_bind",
    "inline_literal",
    "f",
    "run_async",
    "invoke",
    "implementation_for",
];

pub fn check(ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    let file = ctx.file;
    for (index, up) in file.upgrade_functions() {
        let changes_schema = upgrade
            .ops
            .iter()
            .any(|op| op.function == index && !NOT_SCHEMA.contains(&op.method.as_str()))
            || upgrade.sql.iter().any(|s| s.op.function == index && s.ddl)
            || file.helper_calls.iter().any(|h| {
                h.function == index && ctx.config.concurrent_index_helpers.contains(&h.method)
            });
        if !changes_schema {
            continue;
        }
        let partner = format!("down{}", &up.name["up".len()..]);
        let down: Option<&Function> = file
            .functions
            .iter()
            .find(|f| f.kind == FunctionKind::Downgrade && f.name == partner);
        let (range, message) = match down {
            None => (
                up.name_range,
                format!("{}() changes the schema but there is no {partner}(): this revision cannot be downgraded", up.name),
            ),
            Some(d) if d.is_empty => (
                d.name_range,
                format!("{}() changes the schema but {partner}() is empty: downgrading leaves the schema changed", up.name),
            ),
            Some(d) if d.only_raises => (
                d.name_range,
                format!("{}() changes the schema but {partner}() only raises: this revision cannot be downgraded", up.name),
            ),
            Some(_) => continue,
        };
        out.push(Diagnostic::new(&RULE, range, message));
    }
}

use crate::diagnostic::Diagnostic;
use crate::migration::{CallExpr, Expr};
use crate::rules::upgrade::Upgrade;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags `op.add_column` (or a batch alias) of a column whose
    /// `server_default` calls a volatile function: `gen_random_uuid()`,
    /// `uuid_generate_v1()` / `uuid_generate_v4()`, `random()`,
    /// `clock_timestamp()`, `timeofday()`, `nextval(…)`; written as
    /// `sa.text("…")`, `literal_column("…")` or `sa.func.<name>()`. A plain
    /// string is not a call (SQLAlchemy quotes it as a literal) and is not
    /// flagged. A table created earlier in the same upgrade is exempt.
    ///
    /// ## Why is this bad?
    /// Since PostgreSQL 11, adding a column with a constant (or stable)
    /// default is instant. A volatile default must be computed for every
    /// existing row: the table is rewritten under an ACCESS EXCLUSIVE lock.
    ///
    /// ## Example
    /// ```python
    /// def upgrade():
    ///     op.add_column(
    ///         "orders",
    ///         sa.Column("public_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()")),
    ///     )
    /// ```
    ///
    /// Use instead: add the column without a default (or nullable), set the
    /// default with `op.alter_column(..., server_default=...)` (only new rows
    /// use it), and backfill the existing rows in batches.
    pub static RULE = {
        code: "MG307",
        name: "volatile-default",
        severity: Warning,
        tag: None,
        summary: "add_column with a server_default calling a volatile function",
    };
}

const VOLATILE: &[&str] = &[
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "random",
    "clock_timestamp",
    "timeofday",
    "nextval",
];

pub fn check(_ctx: &FileContext, upgrade: &Upgrade, out: &mut Vec<Diagnostic>) {
    for op in &upgrade.ops {
        if op.method != "add_column" || upgrade.is_new(op) {
            continue;
        }
        let Some(column) = op.arg("column").and_then(Expr::as_call) else {
            continue;
        };
        let Some(default) = column.kwarg("server_default") else {
            continue;
        };
        let Some(function) = volatile_call(default) else {
            continue;
        };
        let name = upgrade.show(column.args.first());
        out.push(Diagnostic::new(
            &RULE,
            default.range(),
            format!(
                "the server_default of `{}.{name}` calls volatile `{function}()`: adding the column rewrites `{}` under an ACCESS EXCLUSIVE lock",
                upgrade.table_name(op),
                upgrade.table_name(op)
            ),
        ));
    }
}

/// The volatile function a default expression calls, if any.
fn volatile_call(default: &Expr) -> Option<&'static str> {
    let call: &CallExpr = default.as_call()?;
    match call.callee_name() {
        "text" | "literal_column" => {
            let sql = call.args.first()?.as_str()?.to_ascii_lowercase();
            VOLATILE.iter().copied().find(|f| calls(&sql, f))
        }
        name => {
            let is_func = call.callee.starts_with("func.") || call.callee.contains(".func.");
            VOLATILE
                .iter()
                .copied()
                .find(|f| is_func && name.eq_ignore_ascii_case(f))
        }
    }
}

/// Whether `sql` calls `function`: the name as a word, followed by `(`.
fn calls(sql: &str, function: &str) -> bool {
    sql.match_indices(function).any(|(i, _)| {
        let before = sql[..i].chars().next_back();
        let after = sql[i + function.len()..].trim_start();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after.starts_with('(')
    })
}

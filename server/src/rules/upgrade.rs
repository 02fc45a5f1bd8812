//! What the upgrade functions of a migration do, in source order: their
//! Alembic operations, the SQL they execute, and the tables they create.
//!
//! A table created earlier in the same upgrade function (by `op.create_table`,
//! a project's own `create_table(...)` wrapper or a SQL `CREATE TABLE`, and
//! still new after an `op.rename_table`) is new: it is empty and nothing uses
//! it yet, so the lock rules (and MG103) leave operations on it alone.
//!
//! Tables are compared by key: a literal name lowercased, without schema; a
//! name given by an expression (`Model.__tablename__`, `TABLE`) by the text
//! of that expression, so the same constant matches itself.

use crate::migration::{Expr, FunctionKind, MigrationFile, OpCall, Receiver};
use crate::rules::sql::{ChangeKind, ExecutedSql};

#[derive(Debug)]
pub struct Upgrade<'a> {
    pub file: &'a MigrationFile,
    /// Operations inside `upgrade*()` functions (batch aliases included).
    pub ops: Vec<&'a OpCall>,
    /// The `op.execute` calls among them whose SQL is a literal.
    pub sql: Vec<ExecutedSql<'a>>,
    created: Vec<Created>,
}

/// A table (or an index on a new table) created at `at` in `function`.
#[derive(Debug)]
struct Created {
    function: usize,
    at: usize,
    table: String,
    index: Option<String>,
}

/// The key of a literal table or index name.
fn literal_key(name: &str) -> String {
    name.rsplit('.').next().unwrap_or_default().to_lowercase()
}

/// The key of a name argument: a literal, or the text of an expression.
fn expr_key(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(name, _) => Some(format!("`{name}`")),
        _ => expr.as_str().map(literal_key),
    }
}

impl<'a> Upgrade<'a> {
    pub fn of(file: &'a MigrationFile) -> Upgrade<'a> {
        let in_upgrade = |op: &&OpCall| {
            file.functions.get(op.function).map(|f| f.kind) == Some(FunctionKind::Upgrade)
        };
        let ops: Vec<&OpCall> = file.ops.iter().filter(in_upgrade).collect();
        let mut upgrade = Upgrade {
            file,
            sql: ops.iter().copied().filter_map(ExecutedSql::of).collect(),
            ops,
            created: Vec::new(),
        };
        // A project's own `create_table(...)` wrapper (superset has one)
        // creates a table as surely as `op.create_table`.
        let wrappers = file
            .helper_calls
            .iter()
            .filter(in_upgrade)
            .filter(|h| h.method.rsplit('.').next() == Some("create_table"));
        let mut in_order: Vec<&OpCall> = upgrade.ops.iter().copied().chain(wrappers).collect();
        in_order.sort_by_key(|op| op.call.range.start);
        let mut sql = upgrade.sql.iter().peekable();
        for op in in_order {
            let (function, at) = (op.function, op.call.range.start);
            // (table key, index key, position) of what this operation creates.
            let mut found: Vec<(Option<String>, Option<String>, usize)> = Vec::new();
            match op.method.as_str() {
                _ if op.receiver == Receiver::Helper => {
                    found.push((op.call.args.first().and_then(expr_key), None, at))
                }
                "create_table" => found.push((upgrade.table_key(op), None, at)),
                "rename_table" if upgrade.is_new(op) => {
                    found.push((op.arg("new_table_name").and_then(expr_key), None, at))
                }
                "create_index" if upgrade.is_new(op) => {
                    let index = op.arg("index_name").and_then(expr_key);
                    found.push((upgrade.table_key(op), index, at))
                }
                "execute" => {
                    let Some(executed) = sql.next_if(|s| std::ptr::eq(s.op, op)) else {
                        continue;
                    };
                    for change in &executed.changes {
                        let table = change.table.as_deref().map(literal_key);
                        let at = change.range.start;
                        match change.kind {
                            ChangeKind::CreateTable => found.push((table, None, at)),
                            // An index on a table this statement string creates.
                            ChangeKind::CreateIndex
                                if upgrade.is_new_key(function, at, table.as_deref())
                                    || found.iter().any(|(t, _, _)| *t == table) =>
                            {
                                let index = change.index.as_deref().map(literal_key);
                                found.push((table, index, at))
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            for (table, index, at) in found {
                if let Some(table) = table {
                    upgrade.created.push(Created {
                        function,
                        at,
                        table,
                        index,
                    });
                }
            }
        }
        upgrade
    }

    /// The expression naming the table an operation works on; for a batch
    /// alias, the table argument of the innermost `batch_alter_table` around it.
    fn table_expr<'s>(&'s self, op: &'s OpCall) -> Option<&'s Expr> {
        if let Receiver::Batch { .. } = &op.receiver {
            return self.batch_block(op)?.arg("table_name");
        }
        let param = match op.method.as_str() {
            "create_foreign_key" => "source_table",
            "rename_table" => "old_table_name",
            _ => "table_name",
        };
        op.arg(param)
    }

    /// The `batch_alter_table(...)` call of the innermost batch block around
    /// a batch operation.
    fn batch_block(&self, op: &OpCall) -> Option<&'a OpCall> {
        self.file
            .ops
            .iter()
            .filter(|b| b.method == "batch_alter_table" && b.function == op.function)
            .filter(|b| b.statement_range.start < op.call.range.start)
            .filter(|b| op.call.range.end <= b.statement_range.end)
            .max_by_key(|b| b.statement_range.start)
    }

    /// Whether the statement an operation emits runs in autocommit mode. A
    /// batch operation runs when its batch block ends, so what counts is
    /// whether the batch block is inside `autocommit_block()`.
    pub fn runs_in_autocommit(&self, op: &OpCall) -> bool {
        match op.receiver {
            Receiver::Batch { .. } => self.batch_block(op).is_some_and(|b| b.in_autocommit),
            _ => op.in_autocommit,
        }
    }

    /// The key of the table an operation works on (see the module doc).
    fn table_key(&self, op: &OpCall) -> Option<String> {
        if let Receiver::Batch { table: Some(table) } = &op.receiver {
            return Some(literal_key(&table.value));
        }
        self.table_expr(op).and_then(expr_key)
    }

    /// The table an operation works on, for messages.
    pub fn table_name(&self, op: &OpCall) -> String {
        if let Receiver::Batch { table: Some(table) } = &op.receiver {
            return table.value.clone();
        }
        self.show(self.table_expr(op))
    }

    /// A name argument for messages: its value, or the source text of the
    /// expression that computes it (shortened).
    pub fn show(&self, expr: Option<&Expr>) -> String {
        match expr {
            Some(e) => match e.as_str() {
                Some(value) => value.to_owned(),
                None => {
                    let text = self.file.slice(e.range());
                    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    match text.char_indices().nth(40) {
                        Some((cut, _)) => format!("{}…", &text[..cut]),
                        None => text,
                    }
                }
            },
            None => "?".to_owned(),
        }
    }

    /// Whether the table `op` works on was created earlier in its function.
    pub fn is_new(&self, op: &OpCall) -> bool {
        self.is_new_key(
            op.function,
            op.call.range.start,
            self.table_key(op).as_deref(),
        )
    }

    /// Whether the table a SQL statement names was created before `at`.
    pub fn is_new_table(&self, function: usize, at: usize, table: Option<&str>) -> bool {
        self.is_new_key(function, at, table.map(literal_key).as_deref())
    }

    fn is_new_key(&self, function: usize, at: usize, table: Option<&str>) -> bool {
        table.is_some_and(|table| {
            self.created
                .iter()
                .any(|c| c.function == function && c.at < at && c.table == table)
        })
    }

    /// Whether `index` was created before `at` in `function`, on a new table.
    pub fn is_new_index(&self, function: usize, at: usize, index: Option<&Expr>) -> bool {
        self.is_new_index_key(function, at, index.and_then(expr_key))
    }

    /// [`Upgrade::is_new_index`] for an index named in SQL.
    pub fn is_new_sql_index(&self, function: usize, at: usize, index: Option<&str>) -> bool {
        self.is_new_index_key(function, at, index.map(literal_key))
    }

    fn is_new_index_key(&self, function: usize, at: usize, index: Option<String>) -> bool {
        index.is_some_and(|index| {
            self.created.iter().any(|c| {
                c.function == function && c.at < at && c.index.as_deref() == Some(index.as_str())
            })
        })
    }

    /// The name of the upgrade function holding `op`, for messages.
    pub fn function_name(&self, op: &OpCall) -> &str {
        self.file
            .functions
            .get(op.function)
            .map_or("upgrade", |f| f.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_tables_are_order_aware() {
        let file = MigrationFile::parse(
            r#"
from alembic import op
from app.migrations.utils import create_table

def upgrade():
    op.create_index("early", "t", ["a"])
    op.create_table("t")
    op.execute("CREATE TABLE s.u (id int); CREATE INDEX ux ON s.u (id)")
    op.rename_table("t", "t2")
    op.create_index("late", "T2", ["a"])
    create_table("w")
    op.create_table(Model.__tablename__)
    with op.batch_alter_table(Model.__tablename__) as batch_op:
        batch_op.create_index("ix_m", ["a"])
    op.drop_index(op.f("late"), table_name="t2")

def downgrade():
    op.create_table("d")
    op.create_index("x", "d", ["a"])
"#
            .into(),
        );
        let upgrade = Upgrade::of(&file);
        let methods: Vec<&str> = upgrade.ops.iter().map(|o| o.method.as_str()).collect();
        assert_eq!(
            methods,
            [
                "create_index",
                "create_table",
                "execute",
                "rename_table",
                "create_index",
                "create_table",
                "batch_alter_table",
                "create_index",
                "drop_index",
                "f"
            ]
        );
        assert_eq!(upgrade.sql.len(), 1);
        let op = |i: usize| upgrade.ops[i];
        assert!(!upgrade.is_new(op(0)));
        assert!(upgrade.is_new(op(3)), "renamed after it was created");
        assert!(upgrade.is_new(op(4)), "the new name, in another case");
        assert!(upgrade.is_new_table(0, op(3).call.range.start, Some("public.u")));
        assert!(upgrade.is_new_sql_index(0, op(4).call.range.start, Some("ux")));
        assert!(upgrade.is_new_table(0, usize::MAX, Some("w")));
        assert!(
            upgrade.is_new(op(7)),
            "a batch block on a table named by an expression"
        );
        assert!(upgrade.is_new_index(0, op(8).call.range.start, op(8).arg("index_name")));
        assert!(!upgrade.is_new_table(1, usize::MAX, Some("d")));
    }

    #[test]
    fn batch_operations_run_when_their_block_ends() {
        let file = MigrationFile::parse(
            r#"
from alembic import op

def upgrade():
    with op.batch_alter_table("t") as batch_op:
        with op.get_context().autocommit_block():
            batch_op.create_index("a", ["a"], postgresql_concurrently=True)
    with op.get_context().autocommit_block():
        with op.batch_alter_table("t") as batch_op:
            batch_op.create_index("b", ["b"], postgresql_concurrently=True)
"#
            .into(),
        );
        let upgrade = Upgrade::of(&file);
        let indexes: Vec<&OpCall> = upgrade
            .ops
            .iter()
            .copied()
            .filter(|o| o.method == "create_index")
            .collect();
        assert!(indexes[0].in_autocommit && !upgrade.runs_in_autocommit(indexes[0]));
        assert!(upgrade.runs_in_autocommit(indexes[1]));
    }
}

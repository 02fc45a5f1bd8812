//! What the upgrade functions of a migration do, in source order: their
//! Alembic operations, the SQL they execute, and the tables they create.
//!
//! A table created earlier in the same upgrade function (by `op.create_table`
//! or a SQL `CREATE TABLE`, and still new after an `op.rename_table`) is new:
//! it is empty and nothing uses it yet, so the lock rules (and MG103) leave
//! operations on it alone. Names compare case-insensitively, without schema.

use crate::migration::{FunctionKind, MigrationFile, OpCall};
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

impl<'a> Upgrade<'a> {
    pub fn of(file: &'a MigrationFile) -> Upgrade<'a> {
        let ops: Vec<&OpCall> = file
            .ops
            .iter()
            .filter(|op| {
                file.functions.get(op.function).map(|f| f.kind) == Some(FunctionKind::Upgrade)
            })
            .collect();
        let mut upgrade = Upgrade {
            file,
            sql: ops.iter().copied().filter_map(ExecutedSql::of).collect(),
            ops,
            created: Vec::new(),
        };
        let mut created: Vec<Created> = Vec::new();
        let mut sql = upgrade.sql.iter().peekable();
        for op in &upgrade.ops {
            let (function, at) = (op.function, op.call.range.start);
            // (table, index, position) of what this operation creates.
            let mut found: Vec<(Option<&str>, Option<&str>, usize)> = Vec::new();
            match op.method.as_str() {
                "create_table" => found.push((op.table(), None, at)),
                "rename_table" if is_new(&created, function, at, op.table()) => {
                    found.push((op.arg("new_table_name").and_then(|a| a.as_str()), None, at))
                }
                "create_index" if is_new(&created, function, at, op.table()) => {
                    let index = op.arg("index_name").and_then(|a| a.as_str());
                    found.push((op.table(), index, at))
                }
                "execute" => {
                    let Some(executed) = sql.next_if(|s| std::ptr::eq(s.op, *op)) else {
                        continue;
                    };
                    for change in &executed.changes {
                        let (table, at) = (change.table.as_deref(), change.range.start);
                        match change.kind {
                            ChangeKind::CreateTable => found.push((table, None, at)),
                            // An index on a table this statement string creates.
                            ChangeKind::CreateIndex
                                if is_new(&created, function, at, table)
                                    || found.iter().any(|(t, _, _)| *t == table) =>
                            {
                                found.push((table, change.index.as_deref(), at))
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            for (table, index, at) in found {
                if let Some(table) = table {
                    created.push(Created {
                        function,
                        at,
                        table: table.to_lowercase(),
                        index: index.map(str::to_lowercase),
                    });
                }
            }
        }
        upgrade.created = created;
        upgrade
    }

    /// Whether `table` was created before `at` in upgrade function `function`.
    pub fn is_new_table(&self, function: usize, at: usize, table: Option<&str>) -> bool {
        is_new(&self.created, function, at, table)
    }

    /// Whether `index` was created before `at` in `function`, on a new table.
    pub fn is_new_index(&self, function: usize, at: usize, index: Option<&str>) -> bool {
        let Some(index) = index.map(str::to_lowercase) else {
            return false;
        };
        self.created.iter().any(|c| {
            c.function == function && c.at < at && c.index.as_deref() == Some(index.as_str())
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

fn is_new(created: &[Created], function: usize, at: usize, table: Option<&str>) -> bool {
    let Some(table) = table.map(str::to_lowercase) else {
        return false;
    };
    let table = table.rsplit('.').next().unwrap_or_default();
    created
        .iter()
        .any(|c| c.function == function && c.at < at && c.table == table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_tables_are_order_aware() {
        let file = MigrationFile::parse(
            r#"
from alembic import op

def upgrade():
    op.create_index("early", "t", ["a"])
    op.create_table("t")
    op.execute("CREATE TABLE s.u (id int); CREATE INDEX ux ON s.u (id)")
    op.rename_table("t", "t2")
    op.create_index("late", "T2", ["a"])

def downgrade():
    op.create_table("d")
    op.create_index("x", "d", ["a"])
"#
            .into(),
        );
        let upgrade = Upgrade::of(&file);
        assert_eq!(upgrade.ops.len(), 5);
        assert_eq!(upgrade.sql.len(), 1);
        let at = |i: usize| upgrade.ops[i].call.range.start;
        assert!(!upgrade.is_new_table(0, at(0), Some("t")));
        assert!(upgrade.is_new_table(0, at(3), Some("t")));
        assert!(upgrade.is_new_table(0, at(3), Some("public.u")));
        assert!(upgrade.is_new_table(0, at(4), Some("t2")));
        assert!(upgrade.is_new_index(0, at(4), Some("ux")));
        assert!(!upgrade.is_new_table(1, usize::MAX, Some("d")));
    }
}

//! Alembic's operation signatures (alembic/op.pyi, 1.13–1.20): the names of
//! the positional parameters, so an argument is found whether it is passed by
//! position or by keyword. A batch alias (`batch_op`) drops the table name.

/// Positional parameter names of `op.<method>`; `None` for an unknown method.
pub fn positional(method: &str, batch: bool) -> Option<&'static [&'static str]> {
    let params: &[&str] = match (method, batch) {
        ("add_column", false) => &["table_name", "column"],
        ("add_column", true) => &["column", "insert_before", "insert_after"],
        ("alter_column", false) => &["table_name", "column_name"],
        ("alter_column", true) => &["column_name"],
        ("batch_alter_table", _) => &[
            "table_name",
            "schema",
            "recreate",
            "partial_reordering",
            "copy_from",
            "table_args",
            "table_kwargs",
            "reflect_args",
            "reflect_kwargs",
            "naming_convention",
        ],
        ("bulk_insert", _) => &["table", "rows"],
        ("create_check_constraint", false) => &["constraint_name", "table_name", "condition"],
        ("create_check_constraint", true) => &["constraint_name", "condition"],
        ("create_exclude_constraint", false) => &["constraint_name", "table_name"],
        ("create_exclude_constraint", true) => &["constraint_name"],
        ("create_foreign_key", false) => &[
            "constraint_name",
            "source_table",
            "referent_table",
            "local_cols",
            "remote_cols",
        ],
        ("create_foreign_key", true) => &[
            "constraint_name",
            "referent_table",
            "local_cols",
            "remote_cols",
        ],
        ("create_index", false) => &["index_name", "table_name", "columns"],
        ("create_index", true) => &["index_name", "columns"],
        ("create_primary_key", false) => &["constraint_name", "table_name", "columns"],
        ("create_primary_key", true) => &["constraint_name", "columns"],
        ("create_table", _) => &["table_name"],
        ("create_table_comment", false) => &["table_name", "comment"],
        ("create_table_comment", true) => &["comment"],
        ("create_unique_constraint", false) => &["constraint_name", "table_name", "columns"],
        ("create_unique_constraint", true) => &["constraint_name", "columns"],
        ("drop_column", false) => &["table_name", "column_name"],
        ("drop_column", true) => &["column_name"],
        ("drop_constraint", false) => &["constraint_name", "table_name", "type_"],
        ("drop_constraint", true) => &["constraint_name", "type_"],
        ("drop_index", false) => &["index_name", "table_name"],
        ("drop_index", true) => &["index_name"],
        ("drop_table", _) => &["table_name"],
        ("drop_table_comment", _) => &["table_name"],
        ("execute", _) => &["sqltext"],
        ("rename_table", _) => &["old_table_name", "new_table_name"],
        ("inline_literal", _) => &["value", "type_"],
        _ => return None,
    };
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_variants_drop_the_table() {
        assert_eq!(positional("drop_column", false).unwrap()[1], "column_name");
        assert_eq!(positional("drop_column", true).unwrap()[0], "column_name");
        assert!(positional("no_such_op", false).is_none());
    }
}

declare_rule! {
    /// ## What it does
    /// Only with `--check --diff REF`: compares the working tree with the
    /// merge base of `REF` and `HEAD` and reports
    /// - more than one migration added to one revision graph since then, on
    ///   each added file;
    /// - files matching `schema-paths` changed while no migration was added,
    ///   on the first such file.
    ///
    /// ## Why is this bad?
    /// One change to the schema, one migration: a pull request that adds
    /// several migrations makes every deploy run them as separate steps (and
    /// fail halfway), and reviewers read one at a time what is one change.
    /// A model changed without a migration is a schema the database will not
    /// have: the next `alembic revision --autogenerate` picks it up in
    /// somebody else's pull request.
    ///
    /// ## Example
    /// ```text
    /// $ git diff --name-status origin/main
    /// A  migrations/versions/a1_add_users.py
    /// A  migrations/versions/b2_add_users_index.py
    /// ```
    ///
    /// Fix: squash the new migrations into one (`alembic revision` again
    /// after deleting them), or add the missing one. Where a schema change
    /// needs no migration, run that check with `--ignore MG402`.
    pub static RULE = {
        code: "MG402",
        name: "one-migration-per-change",
        severity: Error,
        tag: None,
        summary: "`--diff`: several new migrations, or schema files changed with none",
    };
}

/// What changed since the merge base, as this rule needs it (paths as shown
/// to the user).
#[derive(Debug, Default)]
pub struct ChangeSummary {
    /// The git revision compared with, as the user named it.
    pub reference: String,
    /// Per revision graph, the migration files added since then.
    pub added: Vec<Vec<String>>,
    /// Changed files matching `schema-paths` (migrations excluded), sorted.
    pub schema_changed: Vec<String>,
}

/// One MG402 finding: the file it is reported on (at line 1) and its message.
#[derive(Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

pub fn check(change: &ChangeSummary) -> Vec<Violation> {
    let reference = &change.reference;
    let mut out = Vec::new();
    for added in change.added.iter().filter(|a| a.len() > 1) {
        for path in added {
            let others: Vec<String> = added
                .iter()
                .filter(|p| *p != path)
                .map(|p| format!("`{p}`"))
                .collect();
            out.push(Violation {
                path: path.clone(),
                message: format!(
                    "{} migrations added since `{reference}` (also {}); one change, one migration: squash them into one",
                    added.len(),
                    others.join(", ")
                ),
            });
        }
    }
    let any_added = change.added.iter().any(|a| !a.is_empty());
    if let (false, Some(first)) = (any_added, change.schema_changed.first()) {
        let more = match change.schema_changed.len() {
            1 => String::new(),
            n => format!(
                " and {} other schema file{}",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        };
        out.push(Violation {
            path: first.clone(),
            message: format!(
                "`{first}`{more} changed since `{reference}` but no migration was added; add one (`alembic revision --autogenerate`)"
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(added: &[&[&str]], schema: &[&str]) -> ChangeSummary {
        ChangeSummary {
            reference: "origin/main".into(),
            added: added
                .iter()
                .map(|g| g.iter().map(|s| s.to_string()).collect())
                .collect(),
            schema_changed: schema.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn one_new_migration_is_the_policy() {
        assert_eq!(check(&change(&[&["v/a.py"]], &["app/models.py"])), []);
        assert_eq!(check(&change(&[&[]], &[])), []);
    }

    #[test]
    fn two_new_migrations_are_reported_on_both() {
        let found = check(&change(&[&["v/a.py", "v/b.py"]], &[]));
        let paths: Vec<&str> = found.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["v/a.py", "v/b.py"]);
        assert_eq!(
            found[0].message,
            "2 migrations added since `origin/main` (also `v/b.py`); one change, one migration: squash them into one"
        );
    }

    #[test]
    fn graphs_count_separately() {
        assert_eq!(check(&change(&[&["a/v/1.py"], &["b/v/1.py"]], &[])), []);
    }

    #[test]
    fn schema_change_without_migration_is_reported_on_the_first_file() {
        let found = check(&change(&[&[]], &["app/models.py", "app/schema.py"]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "app/models.py");
        assert!(found[0].message.contains("and 1 other schema file changed"));
    }
}

//! `--check --diff REF` on small git repositories built in temporary folders:
//! which findings belong to the change, and MG402 (one migration per change).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// git with a fixed identity and no user or system configuration.
fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn migration(id: &str, parent: Option<&str>) -> String {
    let parent = parent.map_or("None".to_owned(), |p| format!("\"{p}\""));
    format!(
        "from alembic import op\n\nrevision = \"{id}\"\ndown_revision = {parent}\n\n\ndef upgrade():\n    op.create_table(\"t_{id}\")\n\n\ndef downgrade():\n    op.drop_table(\"t_{id}\")\n"
    )
}

/// `alembic.ini` with its scripts in `migrations/`, and an empty `env.py`.
fn alembic_project(dir: &Path) {
    write(
        dir,
        "alembic.ini",
        "[alembic]\nscript_location = migrations\n",
    );
    write(dir, "migrations/env.py", "");
}

/// `migrations/versions/{file}`: revision `id` on `parent`.
fn add_migration(dir: &Path, file: &str, id: &str, parent: &str) {
    write(
        dir,
        &format!("migrations/versions/{file}"),
        &migration(id, Some(parent)),
    );
}

/// A repository whose `main` holds one migration (`a1`), a model file
/// under `schema-paths`, and a pre-existing finding (MG205: a header that
/// disagrees with the variables) in `a0`; `feature` is checked out.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    alembic_project(d);
    write(
        d,
        "alembic-lsp.toml",
        "schema-paths = [\"app/models/**\"]\n",
    );
    write(
        d,
        "migrations/versions/a0_base.py",
        &format!(
            "\"\"\"base\n\nRevision ID: zzzz\n\"\"\"\n{}",
            migration("a0", None)
        ),
    );
    add_migration(d, "a1_users.py", "a1", "a0");
    write(d, "app/models/user.py", "class User:\n    pass\n");
    write(d, "app/views.py", "def index():\n    pass\n");
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "base"]);
    git(d, &["checkout", "-q", "-b", "feature"]);
    dir
}

fn commit(dir: &Path) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "change"]);
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alembic-lsp"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("the binary runs")
}

fn check_diff(dir: &Path, reference: &str) -> (Option<i32>, Value) {
    let o = run(dir, &["--check", "--diff", reference, "--format", "json"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() != Some(2), "exit 2: {stderr}");
    let value = serde_json::from_slice(&o.stdout).expect("JSON");
    (o.status.code(), value)
}

/// Exit 2 with one line on stderr that says `message`.
fn assert_exit_2(o: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
}

/// `(code, path, line)` of every finding.
fn findings(report: &Value) -> Vec<(String, String, u64)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["path"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn owned(list: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    list.iter()
        .map(|(c, p, l)| (c.to_string(), p.to_string(), *l))
        .collect()
}

#[test]
fn without_diff_the_old_finding_is_reported() {
    let repo = repository();
    let o = run(repo.path(), &["--check", "--format", "json"]);
    let value: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        findings(&value),
        owned(&[("MG205", "migrations/versions/a0_base.py", 3)])
    );
}

#[test]
fn one_new_migration_and_a_schema_change_is_the_policy() {
    let repo = repository();
    let d = repo.path();
    add_migration(d, "b2_orders.py", "b2", "a1");
    write(d, "app/models/user.py", "class User:\n    name = 1\n");
    commit(d);
    let (code, report) = check_diff(d, "main");
    // The old MG205 in a0 is not part of this change.
    assert_eq!(findings(&report), []);
    assert_eq!(code, Some(0));
}

#[test]
fn two_new_migrations_are_reported_on_both() {
    let repo = repository();
    let d = repo.path();
    add_migration(d, "b2_orders.py", "b2", "a1");
    add_migration(d, "c3_items.py", "c3", "b2");
    commit(d);
    let (code, report) = check_diff(d, "main");
    assert_eq!(
        findings(&report),
        owned(&[
            ("MG402", "migrations/versions/b2_orders.py", 1),
            ("MG402", "migrations/versions/c3_items.py", 1),
        ])
    );
    assert_eq!(code, Some(1));
    let message = report["diagnostics"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("2 migrations added since `main`") && message.contains("c3_items.py"),
        "{message}"
    );
}

#[test]
fn schema_change_without_migration() {
    let repo = repository();
    let d = repo.path();
    write(d, "app/models/user.py", "class User:\n    name = 1\n");
    write(d, "app/views.py", "def index():\n    return 1\n");
    commit(d);
    let (code, report) = check_diff(d, "main");
    assert_eq!(
        findings(&report),
        owned(&[("MG402", "app/models/user.py", 1)])
    );
    assert_eq!(code, Some(1));
    // Outside schema-paths, nothing is asked for.
    git(d, &["reset", "-q", "--hard", "main"]);
    write(d, "app/views.py", "def index():\n    return 2\n");
    commit(d);
    let (code, report) = check_diff(d, "main");
    assert_eq!(findings(&report), []);
    assert_eq!(code, Some(0));
}

#[test]
fn mg402_follows_select_and_ignore() {
    let repo = repository();
    let d = repo.path();
    write(d, "app/models/user.py", "class User:\n    name = 1\n");
    commit(d);
    let o = run(d, &["--check", "--diff", "main", "--ignore", "MG402"]);
    assert_eq!(o.status.code(), Some(0));
}

/// The working tree is compared: uncommitted and untracked files count, as
/// in pre-commit and in the editor.
#[test]
fn uncommitted_work_is_part_of_the_change() {
    let repo = repository();
    let d = repo.path();
    add_migration(d, "b2_orders.py", "b2", "a1");
    add_migration(d, "c3_items.py", "c3", "b2");
    let (_, report) = check_diff(d, "HEAD");
    let codes: Vec<String> = findings(&report).into_iter().map(|f| f.0).collect();
    assert_eq!(codes, ["MG402", "MG402"]);
}

/// A finding on an old file stays out, unless the graph rule that reports
/// it also fires on a changed file: a new migration that makes a second head
/// is reported with the head it competes with.
#[test]
fn graph_findings_that_involve_the_change_are_kept() {
    let repo = repository();
    let d = repo.path();
    add_migration(d, "b2_orders.py", "b2", "a0");
    commit(d);
    let (code, report) = check_diff(d, "main");
    assert_eq!(
        findings(&report),
        owned(&[
            ("MG201", "migrations/versions/a1_users.py", 3),
            ("MG201", "migrations/versions/b2_orders.py", 3),
        ])
    );
    assert_eq!(code, Some(1));
}

#[test]
fn a_change_to_an_old_migration_reports_its_findings() {
    let repo = repository();
    let d = repo.path();
    let path = d.join("migrations/versions/a0_base.py");
    let text = std::fs::read_to_string(&path).unwrap() + "# touched\n";
    std::fs::write(&path, text).unwrap();
    commit(d);
    let (code, report) = check_diff(d, "main");
    assert_eq!(
        findings(&report),
        owned(&[("MG205", "migrations/versions/a0_base.py", 3)])
    );
    // A warning: exit 0.
    assert_eq!(code, Some(0));
}

#[test]
fn not_a_git_repository_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    alembic_project(d);
    write(d, "migrations/versions/a1.py", &migration("a1", None));
    let o = run(d, &["--check", "--diff", "main"]);
    assert_exit_2(&o, "not in a git repository");
}

#[test]
fn unknown_revision_is_exit_2() {
    let repo = repository();
    let o = run(repo.path(), &["--check", "--diff", "no-such-branch"]);
    assert_exit_2(&o, "unknown git revision `no-such-branch`");
    let option = run(repo.path(), &["--check", "--diff=--output=x"]);
    assert_eq!(option.status.code(), Some(2));
}

//! The command line as a user runs it: every output format (snapshots),
//! exit codes, and hostile input that must never crash it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cli")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alembic-lsp"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn project() -> PathBuf {
    fixtures().join("project")
}

#[test]
fn text_output() {
    let o = run(&project(), &["--check", "--no-color"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn json_output() {
    let o = run(&project(), &["--check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(value["version"], 1);
    insta::assert_json_snapshot!(value, {".tool.version" => "[version]"});
}

#[test]
fn sarif_output() {
    let o = run(&project(), &["--check", "--format", "sarif"]);
    let value: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(value["version"], "2.1.0");
    // The rule table is long and generated from the rule docs: snapshot the results.
    insta::assert_json_snapshot!(value["runs"][0]["results"]);
    let rules = value["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules
        .iter()
        .all(|r| r["help"]["text"].as_str().is_some_and(|t| !t.is_empty())));
}

/// GitHub code scanning rejects what the SARIF 2.1.0 schema rejects.
#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let with_findings = run(&project(), &["--check", "--format", "sarif"]);
    let without = run(
        &project(),
        &["--check", "--format", "sarif", "--ignore", "MG"],
    );
    for output in [with_findings, without] {
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

#[test]
fn markdown_output() {
    let o = run(&project(), &["--check", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn markdown_output_without_findings() {
    let o = run(
        &project(),
        &["--check", "--format", "markdown", "--ignore", "MG2"],
    );
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn github_output() {
    let o = run(&project(), &["--check", "--format", "github"]);
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn gitlab_output() {
    let o = run(&project(), &["--check", "--format", "gitlab"]);
    let value: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    insta::assert_json_snapshot!(value);
}

#[test]
fn paths_of_one_call_form_one_graph() {
    let versions = project().join("migrations/versions");
    let o = run(
        &project(),
        &["--check", "--format", "json", versions.to_str().unwrap()],
    );
    let value: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(value["graphs"].as_array().unwrap().len(), 1);
    assert_eq!(value["graphs"][0]["revisions"], 4);
}

#[test]
fn select_and_ignore_filter_rules() {
    let o = run(
        &project(),
        &["--check", "--format", "json", "--ignore", "MG201"],
    );
    let value: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = value["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["MG205"]);
    // Only a warning is left: exit 0, and 1 with --strict.
    assert_eq!(o.status.code(), Some(0));
    let strict = run(&project(), &["--check", "--ignore", "MG201", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn usage_and_configuration_errors_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = run(dir.path(), &["--check", "no/such/path"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(stderr(&missing).lines().count(), 1, "{}", stderr(&missing));
    assert!(stderr(&missing).contains("no/such/path"));

    let unknown_rule = run(&project(), &["--check", "--select", "XX9"]);
    assert_eq!(unknown_rule.status.code(), Some(2));
    assert!(stderr(&unknown_rule).contains("XX9"));

    std::fs::write(
        dir.path().join("alembic-lsp.toml"),
        "max-heads = 0\nbogus = 1\n",
    )
    .unwrap();
    let bad = run(dir.path(), &["--check", "."]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("bogus"), "{}", stderr(&bad));

    let nothing = run(dir.path(), &["--check", "--config", "/no/such/config.toml"]);
    assert_eq!(nothing.status.code(), Some(2));
}

#[test]
fn no_configuration_found_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let o = run(dir.path(), &["--check"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("alembic.ini"), "{}", stderr(&o));
}

#[test]
fn explain_list_rules_and_version() {
    let explain = run(&project(), &["--explain", "MG201"]);
    assert_eq!(explain.status.code(), Some(0));
    assert!(stdout(&explain).contains("multiple-heads"));
    assert!(stdout(&explain).contains("## Why is this bad?"));
    let lower = run(&project(), &["--explain", "mg201"]);
    assert_eq!(lower.status.code(), Some(0));
    let unknown = run(&project(), &["--explain", "MG999"]);
    assert_eq!(unknown.status.code(), Some(2));

    let list = run(&project(), &["--list-rules"]);
    assert!(stdout(&list)
        .lines()
        .any(|l| l.starts_with("MG201  multiple-heads")));
    let version = run(&project(), &["--version"]);
    assert_eq!(
        stdout(&version).trim(),
        format!("alembic-lsp {}", env!("CARGO_PKG_VERSION"))
    );
}

/// Hostile files give diagnostics, and the rest of the run goes on.
#[test]
fn hostile_files_never_crash_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path();
    let good =
        "revision = 'aaaa'\ndown_revision = None\n\ndef upgrade():\n    op.create_table('t')\n";
    std::fs::write(v.join("a_good.py"), good).unwrap();
    std::fs::write(
        v.join("b_binary.py"),
        [0x7f, b'E', b'L', b'F', 0, 0, 0xff, 0xfe, 0x80],
    )
    .unwrap();
    std::fs::write(
        v.join("c_nul.py"),
        "revision = 'cccc'\0\ndown_revision = 'aaaa'\n",
    )
    .unwrap();
    std::fs::write(
        v.join("d_latin1.py"),
        b"revision = 'dddd'\ndown_revision = 'cccc'\n# caf\xe9\n",
    )
    .unwrap();
    let nested = format!(
        "revision = 'eeee'\ndown_revision = 'dddd'\nx = {}1{}\n",
        "(".repeat(5000),
        ")".repeat(4999)
    );
    std::fs::write(v.join("e_nested.py"), nested).unwrap();
    let big = format!(
        "revision = 'ffff'\ndown_revision = 'eeee'\n{}",
        "x = 1\n".repeat(1_800_000)
    );
    std::fs::write(v.join("f_big.py"), big).unwrap();
    std::fs::write(v.join("g_empty.py"), "").unwrap();
    std::fs::write(
        v.join("h_crlf.py"),
        "revision = 'hhhh'\r\ndown_revision = 'ffff'\r\ndef upgrade():\r\n    pass\r\n",
    )
    .unwrap();
    std::fs::write(
        v.join("i_cr.py"),
        "revision = 'iiii'\rdown_revision = 'hhhh'\r",
    )
    .unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(v.join("loop_a.py"), v.join("loop_b.py")).unwrap();
        std::os::unix::fs::symlink(v.join("loop_b.py"), v.join("loop_a.py")).unwrap();
        std::fs::create_dir(v.join("sub")).unwrap();
        std::os::unix::fs::symlink(v, v.join("sub/back")).unwrap();
    }
    let o = run(v, &["--check", "--format", "json", "."]);
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    let value: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("JSON even on hostile input");
    let codes_of = |name: &str| -> Vec<String> {
        value["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["path"].as_str().unwrap().contains(name))
            .map(|d| d["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(codes_of("b_binary").contains(&"MG001".to_owned()));
    assert!(codes_of("c_nul").contains(&"MG001".to_owned()));
    assert!(codes_of("d_latin1").contains(&"MG001".to_owned()));
    assert!(codes_of("e_nested").contains(&"MG001".to_owned()));
    assert!(codes_of("g_empty").contains(&"MG004".to_owned()));
    assert!(codes_of("loop_a").contains(&"MG001".to_owned()));
    assert!(!codes_of("h_crlf").contains(&"MG001".to_owned()));
    assert!(!codes_of("i_cr").contains(&"MG001".to_owned()));
    // The readable files still form the graph (lone-CR file included).
    assert!(value["graphs"][0]["heads"]
        .as_array()
        .unwrap()
        .contains(&"iiii".into()));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `--add-approvals` writes only approval tags (the edits themselves are
/// tested in `cli::approve`): findings a tag cannot approve stay, and so do
/// the files.
#[test]
fn add_approvals_leaves_what_no_tag_approves() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&project(), dir.path());
    let o = run(
        dir.path(),
        &["--check", "--add-approvals", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let versions = Path::new("migrations/versions");
    for entry in std::fs::read_dir(project().join(versions)).unwrap() {
        let name = entry.unwrap().file_name();
        assert_eq!(
            std::fs::read(project().join(versions).join(&name)).unwrap(),
            std::fs::read(dir.path().join(versions).join(&name)).unwrap()
        );
    }
}

/// Migration code is read, never run: a file that would write on import or
/// in `upgrade()` leaves nothing behind.
#[test]
fn migration_code_is_never_executed() {
    let dir = tempfile::tempdir().unwrap();
    let marker_import = dir.path().join("imported");
    let marker_upgrade = dir.path().join("upgraded");
    let versions = dir.path().join("versions");
    std::fs::create_dir(&versions).unwrap();
    let source = format!(
        "import pathlib\npathlib.Path({:?}).write_text('x')\nrevision = 'aaaa'\ndown_revision = None\n\n\ndef upgrade():\n    pathlib.Path({:?}).write_text('x')\n",
        marker_import.to_str().unwrap(),
        marker_upgrade.to_str().unwrap()
    );
    std::fs::write(versions.join("a.py"), source).unwrap();
    let o = run(dir.path(), &["--check", "versions"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    assert!(!marker_import.exists() && !marker_upgrade.exists());
}

//! Hostile workspaces for the server (the `--check` side is in `cli.rs`):
//! 10,000 migrations, 100,000 statements in one file, files deleted while
//! the server indexes, and version-folder entries that cannot be read as
//! files (a folder, a dangling link, a link loop, a FIFO). Each time the
//! server indexes, publishes, stays alive, answers `shutdown` and exits 0.
//! Durations are printed (`--nocapture`) for docs/reliability.md, never asserted.

mod lsp_support;

use std::path::Path;
use std::time::Instant;

use lsp_support::*;
use serde_json::{json, Value};

fn revision(i: usize) -> String {
    format!("r{i:05}")
}

/// `count` migrations in one chain, `r00000` ← `r00001` ← ….
fn chain(project: &Project, count: usize) {
    for i in 0..count {
        let down = (i > 0).then(|| revision(i - 1));
        project.write(
            &format!("{}_step.py", revision(i)),
            &migration(&revision(i), down.as_deref(), "step"),
        );
    }
}

fn indexed_message(server: &mut Server) -> String {
    let logged = server.wait_for("the indexing log line", |m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.starts_with("indexed "))
    });
    logged["params"]["message"].as_str().unwrap().to_owned()
}

#[test]
fn ten_thousand_migrations_index_and_the_open_file_is_published() {
    let project = Project::new();
    chain(&project, 10_000);
    let started = Instant::now();
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let last = project
        .versions
        .join(format!("{}_step.py", revision(9_999)));
    let uri = server.open(&last, 1);
    let message = indexed_message(&mut server);
    assert!(message.contains("10000 migrations"), "{message}");
    let published = server.diagnostics_until(&uri, |p| p["version"] == 1);
    eprintln!(
        "10,000 files: {message}; first diagnostics after {} ms",
        started.elapsed().as_millis()
    );
    // One clean chain, one head: nothing to report on the last file.
    assert_eq!(codes(&published), Vec::<String>::new());
    // A second head anywhere is seen from the open file.
    let text = std::fs::read_to_string(&last).unwrap();
    let at = find(&text, "'r09998'");
    server.change(&uri, 2, (at.0, at.1 + 1), (at.0, at.1 + 7), "r00005");
    let published = server.diagnostics_until(&uri, |p| p["version"] == 2);
    assert!(has_code(&published, "MG201"), "{published:#}");
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn a_hundred_thousand_statements_opened_and_edited() {
    let project = Project::new();
    let mut text = migration("big", None, "big");
    let mut body = String::new();
    for i in 0..100_000 {
        body.push_str(&format!(
            "    op.add_column(\"t\", sa.Column(\"c{i}\", sa.Integer()))\n"
        ));
    }
    text = text.replace("def upgrade():\n", &format!("def upgrade():\n{body}"));
    let path = project.write("big_file.py", &text);
    let started = Instant::now();
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let uri = server.open(&path, 1);
    let published = server.diagnostics_until(&uri, |p| p["version"] == 1);
    eprintln!(
        "100,000 statements ({} bytes): first diagnostics after {} ms",
        text.len(),
        started.elapsed().as_millis()
    );
    assert!(!has_code(&published, "MG101"), "{published:#}");
    // Edits at the start, in the middle and at the end of upgrade().
    let middle = find(&text, "\"c50000\"");
    server.change(&uri, 2, (0, 0), (0, 0), "# top\n");
    server.change(
        &uri,
        3,
        (middle.0 + 1, 4),
        (middle.0 + 1, 4),
        "op.drop_table(\"legacy\")\n    ",
    );
    let last = find(&text, "\"c99999\"");
    server.change(
        &uri,
        4,
        (last.0 + 3, 0),
        (last.0 + 3, 0),
        "    op.drop_column(\"t\", \"gone\")\n",
    );
    let published = server.diagnostics_until(&uri, |p| p["version"] == 4);
    let drops = codes(&published).iter().filter(|c| *c == "MG101").count();
    assert_eq!(drops, 2, "{:?}", codes(&published));
    eprintln!(
        "100,000 statements: three edits published after {} ms in all",
        started.elapsed().as_millis()
    );
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn files_deleted_while_indexing_end_consistent() {
    let project = Project::new();
    chain(&project, 2_000);
    // Every odd revision from r01001 on disappears while the server starts.
    let doomed: Vec<_> = (1_001..2_000)
        .step_by(2)
        .map(|i| project.versions.join(format!("{}_step.py", revision(i))))
        .collect();
    let deleting = {
        let doomed = doomed.clone();
        std::thread::spawn(move || {
            for path in doomed {
                std::fs::remove_file(path).unwrap();
            }
        })
    };
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let orphan = project
        .versions
        .join(format!("{}_step.py", revision(1_002)));
    let kept = project.versions.join(format!("{}_step.py", revision(500)));
    let orphan_uri = server.open(&orphan, 1);
    let kept_uri = server.open(&kept, 1);
    deleting.join().unwrap();
    let changes: Vec<Value> = doomed
        .iter()
        .map(|p| json!({"uri": uri(p), "type": 3}))
        .collect();
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": changes}),
    );
    // The parent of r01002 is gone: MG202 there, nothing on r00500. The
    // orphan stays open, so only its own findings can be asserted on.
    let published = server.diagnostics_until(&orphan_uri, |p| has_code(p, "MG202"));
    assert!(
        published["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["message"].as_str().unwrap_or("").contains("r01001")),
        "{published:#}"
    );
    server.diagnostics_until(&kept_uri, |p| !has_code(p, "MG202"));
    // No symbol of the index names a deleted file.
    let symbols = server.request("workspace/symbol", json!({"query": "r01"}));
    for symbol in symbols.as_array().into_iter().flatten() {
        let at = symbol["location"]["uri"].as_str().unwrap_or("");
        assert!(
            !doomed.iter().any(|d| uri(d) == at),
            "a deleted file is still indexed: {at}"
        );
    }
    assert_eq!(server.shutdown(), Some(0));
}

fn mkfifo(path: &Path) -> bool {
    std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// A folder named `x.py`, a dangling link, link loops and a FIFO in the
/// versions folder. Opening a FIFO for reading blocks until a writer comes:
/// the server must never try.
#[test]
fn entries_that_are_not_readable_files() {
    let project = Project::new();
    let a1 = project.write("a1_init.py", &migration("a1", None, "init"));
    let v = &project.versions;
    std::fs::create_dir(v.join("b_folder.py")).unwrap();
    std::os::unix::fs::symlink(v.join("missing.py"), v.join("c_dangling.py")).unwrap();
    std::os::unix::fs::symlink(v.join("d_loop.py"), v.join("d_loop.py")).unwrap();
    std::os::unix::fs::symlink(v.join("e_loop2.py"), v.join("e_loop1.py")).unwrap();
    std::os::unix::fs::symlink(v.join("e_loop1.py"), v.join("e_loop2.py")).unwrap();
    let fifo = v.join("f_fifo.py");
    let have_fifo = mkfifo(&fifo);
    if have_fifo {
        std::os::unix::fs::symlink(&fifo, v.join("g_to_fifo.py")).unwrap();
        // Configuration file names too.
        assert!(mkfifo(&project.root.join("alembic-lsp.toml")));
        assert!(mkfifo(&project.root.join("pyproject.toml")));
    } else {
        eprintln!("mkfifo is missing: the FIFO case is skipped");
    }
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let uri = server.open(&a1, 1);
    let published = server.diagnostics_until(&uri, |p| p["version"] == 1);
    assert_eq!(codes(&published), Vec::<String>::new());
    // Every entry announced again, as a branch switch would.
    let mut changes = Vec::new();
    for entry in std::fs::read_dir(v).unwrap() {
        let path = entry.unwrap().path();
        changes.push(json!({"uri": lsp_support::uri(&path), "type": 1}));
        changes.push(json!({"uri": lsp_support::uri(&path), "type": 2}));
    }
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": changes}),
    );
    server.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}}),
    );
    server.change(&uri, 2, (0, 0), (0, 0), "# still here\n");
    server.diagnostics_until(&uri, |p| p["version"] == 2);
    let symbols = server.request("workspace/symbol", json!({"query": ""}));
    assert!(symbols.is_array(), "{symbols}");
    assert_eq!(server.shutdown(), Some(0));
}

/// The same entries for `--check`: every one is reported or skipped, the run
/// completes.
#[test]
fn check_does_not_block_on_a_fifo() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    if !mkfifo(&project.versions.join("f_fifo.py")) {
        eprintln!("mkfifo is missing: skipped");
        return;
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_alembic-lsp"))
        .args(["--check", "--format", "json"])
        .arg(&project.root)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A guard against a hang, not a timing assertion.
    let deadline = Instant::now() + TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("--check blocked on the FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["summary"]["files"], 1, "{report:#}");
}

/// A migration replaced by a FIFO after the index was built, then announced
/// as changed (`git checkout` of a branch where it is one, say).
/// The watched-file event re-reads the listed path through
/// `ProjectFile::read`, which must refuse it rather than open it and wait.
#[test]
fn a_file_that_becomes_a_fifo() {
    let project = Project::new();
    let a1 = project.write("a1_init.py", &migration("a1", None, "init"));
    let b2 = project.write("b2_next.py", &migration("b2", Some("a1"), "next"));
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let uri = server.open(&a1, 1);
    server.diagnostics_until(&uri, |p| p["version"] == 1);
    std::fs::remove_file(&b2).unwrap();
    if !mkfifo(&b2) {
        eprintln!("mkfifo is missing: skipped");
        return;
    }
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": lsp_support::uri(&b2), "type": 2}]}),
    );
    server.change(&uri, 2, (0, 0), (0, 0), "# after\n");
    server.diagnostics_until(&uri, |p| p["version"] == 2);
    assert_eq!(server.shutdown(), Some(0));
}

/// Hostile texts arriving as documents rather than files: NUL bytes, 5,000
/// open brackets, lone CR and mixed line ends, a 2 MB line, edits that split
/// a surrogate pair, and a body whose JSON holds a lone surrogate.
#[test]
fn hostile_documents_opened_and_edited() {
    let project = Project::new();
    let base = migration("a1", None, "init");
    let texts = [
        ("nul", format!("\0{base}\0\0")),
        ("brackets", format!("{base}x = {}\n", "(".repeat(5_000))),
        ("lone_cr", base.replace('\n', "\r")),
        (
            "mixed",
            base.replacen('\n', "\r\n", 7).replacen('\n', "\r", 3),
        ),
        ("long_line", format!("{base}# {}\n", "é".repeat(1_000_000))),
        ("emoji", base.replace("init", "😀😀 init")),
    ];
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    for (name, text) in &texts {
        let path = project.versions.join(format!("{name}.py"));
        let uri = server.open_text(&path, 1, text);
        server.diagnostics_until(&uri, |p| p["version"] == 1);
        // Inside the first emoji's surrogate pair, and across line ends.
        server.change(&uri, 2, (0, 4), (0, 5), "x");
        server.change(&uri, 3, (0, 1), (3, 2), "");
        server.change(&uri, 4, (2, 0), (2, 0), "\r\n\r");
        server.diagnostics_until(&uri, |p| p["version"] == 4);
    }
    // `\ud800` alone is not a Unicode scalar: the message cannot be decoded.
    let body = format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{}","languageId":"python","version":1,"text":"revision = '\ud800'"}}}}}}"#,
        uri(&project.versions.join("surrogate.py"))
    );
    server.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    let symbols = server.request("workspace/symbol", json!({"query": "a1"}));
    assert!(symbols.is_array(), "{symbols}");
    assert_eq!(server.shutdown(), Some(0));
}

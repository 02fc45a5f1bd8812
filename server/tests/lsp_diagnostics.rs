//! Diagnostics over the wire: on open, across files when the graph changes,
//! after incremental edits, with UTF-16 columns, from disk changes and from
//! configuration changes.

mod lsp_support;

use lsp_support::*;
use serde_json::json;

#[test]
fn open_publishes_diagnostics_with_code_source_and_docs_link() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    // The header says b2 but the variable says b3: MG205.
    let text =
        migration("b2", Some("a1"), "add users").replace("revision = 'b2'", "revision = 'b3'");
    let path = project.write("b2_users.py", &text);
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let uri = server.open(&path, 1);
    let params = server.diagnostics_until(&uri, |p| has_code(p, "MG205"));
    assert_eq!(params["version"], 1);
    let d = params["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "MG205")
        .unwrap();
    assert_eq!(d["source"], "alembic-lsp");
    assert_eq!(d["severity"], 2);
    assert!(d["codeDescription"]["href"]
        .as_str()
        .unwrap()
        .ends_with("/MG205.md"));
    assert_eq!(d["data"]["rule"], "header-mismatch");
    let (line, col) = find(&text, "b2\nRevises");
    assert_eq!(d["range"]["start"], json!({"line": line, "character": col}));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn a_second_head_marks_both_and_fixing_down_revision_clears_both() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let b2 = project.write("b2_users.py", &migration("b2", Some("a1"), "users"));
    // Neovim: no file watchers. The new file appears on disk, then is opened.
    let mut server = Server::start(&project.root, neovim_capabilities(), None);
    let b2_uri = uri(&b2);
    server.drain(std::time::Duration::from_millis(300));
    assert!(server
        .latest_diagnostics(&b2_uri)
        .is_none_or(|p| !has_code(&p, "MG201")));

    let text = migration("c3", Some("a1"), "orders");
    let c3 = project.write("c3_orders.py", &text);
    let c3_uri = server.open(&c3, 1);
    let mine = server.diagnostics_until(&c3_uri, |p| has_code(p, "MG201"));
    assert_eq!(mine["version"], 1);
    let theirs = server.diagnostics_until(&b2_uri, |p| has_code(p, "MG201"));
    let message = theirs["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("`c3`"), "{message}");

    // Re-point c3 onto b2 with an incremental edit of the id only.
    let (line, col) = find(&text, "a1'\nbranch_labels");
    server.change(&c3_uri, 2, (line, col), (line, col + 2), "b2");
    server.diagnostics_until(&c3_uri, |p| p["version"] == 2 && !has_code(p, "MG201"));
    server.diagnostics_until(&b2_uri, |p| !has_code(p, "MG201"));
    assert_eq!(server.shutdown(), Some(0));
}

/// A migration open in a server, whose call continues an argument at the
/// statement's own indentation: legal, but the scan for open statements
/// reads the continuation as a new statement (its known limit).
fn open_scan_limit(capabilities: serde_json::Value) -> (Project, Server, String, String) {
    let project = Project::new();
    let text = migration("a1", None, "init").replace(
        "    op.create_table(\"t_a1\", sa.Column(",
        "    op.create_table(\"t_a1\",\n    sa.Column(",
    );
    let path = project.write("a1_init.py", &text);
    let mut server = Server::start(&project.root, capabilities, None);
    let uri = server.open(&path, 1);
    server.diagnostics_until(&uri, |p| p["version"] == 1 && !has_code(p, "MG001"));
    (project, server, uri, text)
}

#[test]
fn a_keystroke_modelled_while_a_call_was_open_is_confirmed_by_the_real_text() {
    // While a statement stays open, a keystroke is modelled from the text
    // without it; the real text is parsed when the server is idle. Here the
    // scan is wrong, so that parse must win and be published.
    let (_project, mut server, uri, text) = open_scan_limit(neovim_capabilities());
    // The call's last `)` deleted: broken for real.
    let (line, col) = find(&text, ")\n\n\ndef downgrade");
    server.change(&uri, 2, (line, col), (line, col + 1), "");
    server.diagnostics_until(&uri, |p| p["version"] == 2 && has_code(p, "MG001"));
    // Typed again: the text parses.
    server.change(&uri, 3, (line, col), (line, col), ")");
    server.diagnostics_until(&uri, |p| p["version"] == 3 && !has_code(p, "MG001"));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn auto_closed_brackets_in_a_file_that_parses_publish_no_syntax_error() {
    // Found by review: a `()` typed as VS Code does (both at once) made the
    // scan's known limit elsewhere in the file an MG001 until the server
    // was idle. The first publication of the version must be right.
    let (_project, mut server, uri, text) = open_scan_limit(vscode_capabilities());
    let (line, _) = find(&text, "    op.drop_table");
    server.change(&uri, 2, (line, 0), (line, 0), "    print()\n");
    let first = server.diagnostics_until(&uri, |p| p["version"] == 2);
    assert!(!has_code(&first, "MG001"), "published {:?}", codes(&first));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn utf16_columns_after_an_emoji() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    // An unknown parent (MG202) after an emoji on the same line.
    let text = migration("b2", Some("a1"), "emoji")
        .replace("down_revision = 'a1'", "note = '😀'; down_revision = 'zz9'")
        .replace("Revises: a1", "Revises: zz9");
    let path = project.write("b2_emoji.py", &text);
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let uri = server.open(&path, 1);
    let params = server.diagnostics_until(&uri, |p| has_code(p, "MG202"));
    let d = params["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "MG202")
        .unwrap()
        .clone();
    let (line, col) = find(&text, "'zz9'");
    // `note = '😀'; down_revision = ` is 28 code points but 29 UTF-16 units.
    assert_eq!(col, 29);
    assert_eq!(d["range"]["start"], json!({"line": line, "character": col}));
    assert_eq!(
        d["range"]["end"],
        json!({"line": line, "character": col + 5})
    );

    // An edit addressed in UTF-16 after the emoji lands where it should.
    server.change(&uri, 2, (line, col + 1), (line, col + 4), "a1");
    server.diagnostics_until(&uri, |p| p["version"] == 2 && !has_code(p, "MG202"));
    let hover = server.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": col + 2}}),
    );
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("**Revision `a1`**"));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn watched_file_events_bring_in_new_files() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let b2 = project.write("b2_users.py", &migration("b2", Some("a1"), "users"));
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    server.wait_for("the file watcher registration", |m| {
        m["method"] == "client/registerCapability"
    });
    let c3 = project.write("c3_orders.py", &migration("c3", Some("a1"), "orders"));
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&c3), "type": 1}]}),
    );
    server.diagnostics_until(&uri(&b2), |p| has_code(p, "MG201"));
    server.diagnostics_until(&uri(&c3), |p| has_code(p, "MG201"));
    std::fs::remove_file(&c3).unwrap();
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&c3), "type": 3}]}),
    );
    server.diagnostics_until(&uri(&b2), |p| !has_code(p, "MG201"));
    server.diagnostics_until(&uri(&c3), |p| p["diagnostics"] == json!([]));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn without_watchers_a_change_rescans_the_versions_folder() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let text = migration("b2", Some("a1"), "users");
    let b2 = project.write("b2_users.py", &text);
    let mut server = Server::start(&project.root, neovim_capabilities(), None);
    let b2_uri = server.open(&b2, 1);
    server.diagnostics_until(&b2_uri, |p| p["version"] == 1);
    // A branch switch brings a second head; the user keeps typing in b2.
    std::thread::sleep(std::time::Duration::from_millis(20));
    project.write("c3_orders.py", &migration("c3", Some("a1"), "orders"));
    server.change(&b2_uri, 2, (0, 3), (0, 3), "x");
    server.diagnostics_until(&b2_uri, |p| p["version"] == 2 && has_code(p, "MG201"));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn closing_a_document_falls_back_to_the_disk() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let b2 = project.write("b2_users.py", &migration("b2", Some("a1"), "users"));
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    // Unsaved text with an unknown parent.
    let b2_uri = server.open_text(&b2, 1, &migration("b2", Some("nope"), "users"));
    server.diagnostics_until(&b2_uri, |p| has_code(p, "MG202"));
    server.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": b2_uri}}),
    );
    server.diagnostics_until(&b2_uri, |p| {
        p["diagnostics"] == json!([]) && p["version"].is_null()
    });
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn indexing_reports_progress_and_publishes_for_unopened_files() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let b2 = project.write("b2_users.py", &migration("b2", Some("a1"), "users"));
    let c3 = project.write("c3_orders.py", &migration("c3", Some("a1"), "orders"));
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    server.wait_for("a progress token", |m| {
        m["method"] == "window/workDoneProgress/create"
    });
    server.wait_for("progress begin", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin"
    });
    let end = server.wait_for("progress end", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });
    assert!(end["params"]["value"]["message"]
        .as_str()
        .unwrap()
        .starts_with("3 migrations in 1 project"));
    server.diagnostics_until(&uri(&b2), |p| {
        has_code(p, "MG201") && p["version"].is_null()
    });
    server.diagnostics_until(&uri(&c3), |p| has_code(p, "MG201"));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn configuration_changes_apply_and_bad_configuration_warns() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let b2 = project.write("b2_users.py", &migration("b2", Some("a1"), "users"));
    project.write("c3_orders.py", &migration("c3", Some("a1"), "orders"));
    let config = project.root.join("alembic-lsp.toml");
    std::fs::write(&config, "max-heads = 2\n").unwrap();
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let b2_uri = server.open(&b2, 1);
    server.diagnostics_until(&b2_uri, |p| p["version"] == 1 && !has_code(p, "MG201"));

    // A bad value: a warning, and the defaults (one head) apply.
    std::fs::write(&config, "max-heads = \"two\"\n").unwrap();
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&config), "type": 2}]}),
    );
    let warning = server.wait_for("a warning", |m| m["method"] == "window/showMessage");
    assert_eq!(warning["params"]["type"], 2);
    assert!(warning["params"]["message"]
        .as_str()
        .unwrap()
        .contains("alembic-lsp.toml"));
    server.diagnostics_until(&b2_uri, |p| has_code(p, "MG201"));

    // The editor's settings add to the file.
    std::fs::remove_file(&config).unwrap();
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&config), "type": 3}]}),
    );
    server.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"alembicLsp": {"severity": {"MG201": "info"}}}}),
    );
    server.diagnostics_until(&b2_uri, |p| {
        p["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "MG201" && d["severity"] == 3)
    });
    server.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"alembicLsp": {"maxHeads": 2}}}),
    );
    server.diagnostics_until(&b2_uri, |p| !has_code(p, "MG201"));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn initialization_options_carry_editor_settings() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let b2 = project.write("b2_users.py", &migration("b2", Some("a1"), "users"));
    project.write("c3_orders.py", &migration("c3", Some("a1"), "orders"));
    let mut server = Server::start(
        &project.root,
        neovim_capabilities(),
        Some(json!({"ignore": ["MG201"]})),
    );
    // Neovim sends this when nothing is configured: it must not undo the options.
    server.notify("workspace/didChangeConfiguration", json!({"settings": {}}));
    let b2_uri = server.open(&b2, 1);
    server.diagnostics_until(&b2_uri, |p| p["version"] == 1 && !has_code(p, "MG201"));
    assert_eq!(server.shutdown(), Some(0));
}

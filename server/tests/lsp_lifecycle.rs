//! Start, stop, and surviving whatever a client sends.

mod lsp_support;

use lsp_support::*;
use serde_json::{json, Value};

#[test]
fn shutdown_then_exit_is_code_zero() {
    let project = Project::new();
    let server = Server::start(&project.root, vscode_capabilities(), None);
    assert_eq!(server.shutdown(), Some(0));
}

/// Huge pages made a keystroke that touched fresh memory zero 2 MB pages
/// (10–40 ms instead of 5): the server turns them off for itself.
#[cfg(target_os = "linux")]
#[test]
fn the_server_runs_without_transparent_huge_pages() {
    let project = Project::new();
    let server = Server::start(&project.root, vscode_capabilities(), None);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("THP_enabled:"))
        .expect("the kernel reports THP_enabled (Linux 5.0+)");
    assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn exit_without_shutdown_is_code_one() {
    let project = Project::new();
    let mut server = Server::start(&project.root, neovim_capabilities(), None);
    server.notify("exit", Value::Null);
    assert_eq!(server.wait_exit(), Some(1));
}

#[test]
fn nonsense_requests_get_answers_and_the_server_goes_on() {
    let project = Project::new();
    let text = migration("a1", None, "init");
    let path = project.write("a1_init.py", &text);
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let uri = server.open(&path, 1);
    server.diagnostics_until(&uri, |p| p["version"] == 1);

    // Positions far outside the text are clamped.
    let far = json!({"textDocument": {"uri": uri}, "position": {"line": 9999, "character": 9999}});
    assert!(server.request("textDocument/hover", far.clone()).is_null());
    assert!(server
        .request("textDocument/definition", far.clone())
        .is_null());
    assert!(server.request("textDocument/completion", far).is_null());
    // An edit whose range is beyond the end appends; one inverted is empty.
    server.change(&uri, 2, (9999, 0), (9999, 5), "\n# appended\n");
    server.change(&uri, 3, (5, 3), (2, 0), "");
    // Documents never opened, in no project, or not files at all.
    let elsewhere = json!({"textDocument": {"uri": "file:///nowhere/x.py"}, "position": {"line": 0, "character": 0}});
    assert!(server.request("textDocument/hover", elsewhere).is_null());
    let untitled = json!({"textDocument": {"uri": "untitled:Untitled-1"}, "position": {"line": 0, "character": 0}});
    assert!(server.request("textDocument/hover", untitled).is_null());
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///nowhere/x.py", "version": 2}, "contentChanges": [{"text": "x"}]}),
    );
    // Malformed parameters: an error response, not a crash.
    let bad = server.request_raw("textDocument/hover", json!({"nonsense": true}));
    assert!(bad.get("error").is_some(), "{bad}");

    let params = server.diagnostics_until(&uri, |p| p["version"] == 3);
    assert!(params["diagnostics"].is_array());
    let hover = server.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": find(&text, "'a1'").0, "character": 12}}),
    );
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("`a1`"));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn a_workspace_without_alembic_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap().join("script.py");
    std::fs::write(&path, "print('hello')\n").unwrap();
    let mut server = Server::start(dir.path(), vscode_capabilities(), None);
    let uri = server.open(&path, 1);
    server.drain(std::time::Duration::from_millis(300));
    assert!(server.latest_diagnostics(&uri).is_none());
    let hover = server.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 1}}),
    );
    assert!(hover.is_null());
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn hostile_traffic_before_and_after_initialize() {
    let project = Project::new();
    let text = migration("a1", None, "init");
    let path = project.write("a1_init.py", &text);
    let mut server = Server::spawn();
    // A request before `initialize` is refused, not crashed on.
    let early = server.request_raw(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri(&path)}, "position": {"line": 0, "character": 0}}),
    );
    assert!(early.get("error").is_some(), "{early}");
    // A change for a document never opened, and a body that is not JSON.
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&path), "version": 3},
               "contentChanges": [{"text": "garbage"}]}),
    );
    let junk = b"{not json at all";
    server.send_raw(format!("Content-Length: {}\r\n\r\n", junk.len()).as_bytes());
    server.send_raw(junk);
    // An unknown method gets "method not found", and the server still initializes.
    let unknown = server.request_raw("alembic/noSuchThing", json!({}));
    assert!(unknown.get("error").is_some(), "{unknown}");
    let result = server.request(
        "initialize",
        json!({"processId": null, "rootUri": uri(&project.root),
               "workspaceFolders": [{"uri": uri(&project.root), "name": "root"}],
               "capabilities": neovim_capabilities()}),
    );
    assert!(result["capabilities"].is_object());
    server.notify("initialized", json!({}));
    let opened = server.open(&path, 1);
    let published = server.diagnostics_until(&opened, |p| p["version"] == 1);
    assert!(published["diagnostics"].is_array());
    // Versions going backwards and a close right after a change are survived.
    server.change(&opened, 0, (0, 0), (0, 0), "# c\n");
    server.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": opened}}),
    );
    assert_eq!(server.shutdown(), Some(0));
}

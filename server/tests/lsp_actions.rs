//! Code actions over the wire: the fix applied makes the finding go away.

mod lsp_support;

use lsp_support::*;
use serde_json::{json, Value};

fn actions(server: &mut Server, uri: &str, at: (u32, u32), only: Option<&[&str]>) -> Vec<Value> {
    let mut context = json!({"diagnostics": []});
    if let Some(only) = only {
        context["only"] = json!(only);
    }
    server
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": at.0, "character": at.1}, "end": {"line": at.0, "character": at.1}},
                "context": context,
            }),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The edits of a versioned `documentChanges` edit for `uri`.
fn edits_for(action: &Value, uri: &str) -> (Value, Vec<Value>) {
    let change = action["edit"]["documentChanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["textDocument"]["uri"] == uri)
        .unwrap_or_else(|| panic!("no edit of {uri} in {action:#}"));
    (
        change["textDocument"]["version"].clone(),
        change["edits"].as_array().unwrap().clone(),
    )
}

fn full_change(server: &mut Server, uri: &str, version: i32, text: &str) {
    server.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
    );
}

/// What a test opened: the project (kept alive for its temporary folder),
/// the server, and the open file's URI and text.
struct Opened {
    project: Project,
    b2: std::path::PathBuf,
    server: Server,
    uri: String,
    text: String,
}

/// Two heads, `b2` and `c3`, on `a1`; `c3` is open (with MG201 reported)
/// in a server started with `capabilities`.
fn two_heads(capabilities: Value) -> Opened {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let b2 = project.write("b2_users.py", &migration("b2", Some("a1"), "users"));
    let text = migration("c3", Some("a1"), "orders");
    let c3 = project.write("c3_orders.py", &text);
    let mut server = Server::start(&project.root, capabilities, None);
    let uri = server.open(&c3, 1);
    server.diagnostics_until(&uri, |p| has_code(p, "MG201"));
    Opened {
        project,
        b2,
        server,
        uri,
        text,
    }
}

/// `b2_drop.py` with `drops` (whole lines) before its `create_table`, open
/// in a server with VS Code's capabilities.
fn with_drops(drops: &str) -> Opened {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let text = migration("b2", Some("a1"), "drop").replace(
        "    op.create_table(\"t_b2\"",
        &format!("{drops}    op.create_table(\"t_b2\""),
    );
    let path = project.write("b2_drop.py", &text);
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let uri = server.open(&path, 1);
    Opened {
        project,
        b2: path,
        server,
        uri,
        text,
    }
}

#[test]
fn re_pointing_down_revision_clears_multiple_heads() {
    let Opened {
        project: _project,
        b2,
        mut server,
        uri,
        text,
    } = two_heads(vscode_capabilities());

    let at = find(&text, "c3'\ndown_revision");
    let found = actions(&mut server, &uri, at, None);
    let titles: Vec<&str> = found.iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("Create a merge revision of `b2`, `c3`")),
        "{titles:?}"
    );
    let repoint = found
        .iter()
        .find(|a| a["title"] == "Re-point down_revision onto the other head `b2`")
        .unwrap_or_else(|| panic!("{titles:?}"));
    assert_eq!(repoint["kind"], "quickfix");
    assert_eq!(repoint["diagnostics"][0]["code"], "MG201");
    let (version, edits) = edits_for(repoint, &uri);
    assert_eq!(version, 1);
    let fixed = apply_edits(&text, &edits);
    assert!(
        fixed.contains("down_revision = 'b2'\n") && fixed.contains("Revises: b2\n"),
        "{fixed}"
    );

    full_change(&mut server, &uri, 2, &fixed);
    server.diagnostics_until(&uri, |p| p["version"] == 2 && p["diagnostics"] == json!([]));
    server.diagnostics_until(&uri_of(&b2), |p| !has_code(p, "MG201"));
    assert_eq!(server.shutdown(), Some(0));
}

fn uri_of(path: &std::path::Path) -> String {
    uri(path)
}

#[test]
fn the_merge_revision_merges_the_heads() {
    let Opened {
        project,
        b2,
        mut server,
        uri,
        text,
    } = two_heads(vscode_capabilities());
    let found = actions(
        &mut server,
        &uri,
        find(&text, "c3'\ndown_revision"),
        Some(&["quickfix"]),
    );
    let merge = found
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("Create a merge revision")
        })
        .unwrap();
    let changes = merge["edit"]["documentChanges"].as_array().unwrap();
    assert_eq!(changes[0]["kind"], "create");
    let new_uri = changes[0]["uri"].as_str().unwrap().to_owned();
    assert!(
        new_uri.starts_with(&uri_of(&project.versions)) && new_uri.ends_with("_merge_heads.py")
    );
    let content = changes[1]["edits"][0]["newText"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        content.contains("down_revision: Union[str, Sequence[str], None] = ('b2', 'c3')"),
        "{content}"
    );
    assert!(content.contains("Revises: b2, c3"));
    assert!(content.contains("    # empty: allow\n    pass\n"));

    // The client creates the file and tells the server.
    let path = std::path::PathBuf::from(new_uri.strip_prefix("file://").unwrap());
    std::fs::write(&path, &content).unwrap();
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": new_uri, "type": 1}]}),
    );
    server.diagnostics_until(&uri, |p| !has_code(p, "MG201"));
    server.diagnostics_until(&uri_of(&b2), |p| !has_code(p, "MG201"));

    // And `--check` agrees: the graph has one head and no finding on the new file.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_alembic-lsp"))
        .args(["--check", "--format", "json"])
        .arg(&project.versions)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["graphs"][0]["heads"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    let on_merge: Vec<&Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["path"].as_str().unwrap().ends_with("_merge_heads.py"))
        .collect();
    assert!(on_merge.is_empty(), "{on_merge:#?}");
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn without_resource_operations_no_merge_file_is_offered() {
    let Opened {
        project: _project,
        mut server,
        uri,
        text,
        ..
    } = two_heads(json!({}));
    let found = actions(&mut server, &uri, find(&text, "c3'\ndown_revision"), None);
    let titles: Vec<&str> = found.iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Re-point down_revision onto the other head `b2`"]);
    // Without `documentChanges`, a plain `changes` map.
    assert!(found[0]["edit"]["changes"][&uri].is_array());
    assert_eq!(server.shutdown(), Some(0));
}

/// MG101 arrives with the rules branch; until then this test has nothing to approve.
#[test]
fn approving_a_destructive_operation_clears_it() {
    let Opened {
        project: _project,
        mut server,
        uri,
        text,
        ..
    } = with_drops("    note = '😀'; op.drop_table(\"legacy\")\n");
    let params = server.diagnostics_until(&uri, |p| has_code(p, "MG101"));
    let d = params["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "MG101")
        .unwrap()
        .clone();
    let (line, col) = find(&text, "op.drop_table");
    // On the call or on its method name: either way, after the emoji in UTF-16.
    assert_eq!(d["range"]["start"]["line"], line);
    let start = d["range"]["start"]["character"].as_u64().unwrap() as u32;
    assert!(start == col || start == col + 3, "{d}");

    let found = actions(&mut server, &uri, (line, col + 4), None);
    let approve = found
        .iter()
        .find(|a| a["title"] == "Approve: insert `# destructive: approved`")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(approve["isPreferred"], false);
    assert_eq!(approve["kind"], "quickfix");
    // Never offered as a fix-all.
    assert!(actions(&mut server, &uri, (line, col), Some(&["source.fixAll"])).is_empty());
    let (_, edits) = edits_for(approve, &uri);
    let fixed = apply_edits(&text, &edits);
    assert!(
        fixed.contains("    # destructive: approved\n    note = '😀'; op.drop_table"),
        "{fixed}"
    );
    full_change(&mut server, &uri, 2, &fixed);
    server.diagnostics_until(&uri, |p| p["version"] == 2 && !has_code(p, "MG101"));
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn approve_all_inserts_each_tag_once() {
    let Opened {
        project: _project,
        mut server,
        uri,
        text,
        ..
    } = with_drops("    op.drop_table(\"one\")\n    op.drop_table(\"two\")\n");
    server.diagnostics_until(&uri, |p| {
        codes(p).iter().filter(|c| *c == "MG101").count() == 2
    });
    let found = actions(&mut server, &uri, (0, 0), Some(&["source"]));
    let all = found
        .iter()
        .find(|a| a["kind"] == "source.approveAll.alembic-lsp")
        .unwrap_or_else(|| panic!("{found:#?}"));
    let (_, edits) = edits_for(all, &uri);
    let fixed = apply_edits(&text, &edits);
    assert_eq!(
        fixed.matches("# destructive: approved").count(),
        2,
        "{fixed}"
    );
    full_change(&mut server, &uri, 2, &fixed);
    server.diagnostics_until(&uri, |p| p["version"] == 2 && !has_code(p, "MG101"));
    // Nothing left to approve: no second round of tags.
    assert!(actions(&mut server, &uri, (0, 0), Some(&["source"])).is_empty());
    assert_eq!(server.shutdown(), Some(0));
}

//! Hover, definition, references, symbols and completion over the wire.

mod lsp_support;

use lsp_support::*;
use serde_json::{json, Value};

fn at(uri: &str, pos: (u32, u32)) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": pos.0, "character": pos.1}})
}

struct Fixture {
    project: Project,
    server: Server,
    a1_text: String,
    b2_text: String,
    a1: String,
    b2: String,
}

/// a1 ← b2 ← c3, with b2 open.
fn fixture() -> Fixture {
    let project = Project::new();
    let a1_text = migration("a1", None, "create accounts");
    let b2_text = migration("b2", Some("a1"), "add users");
    let a1 = uri(&project.write("a1_init.py", &a1_text));
    let b2_path = project.write("b2_users.py", &b2_text);
    project.write("c3_orders.py", &migration("c3", Some("b2"), "add orders"));
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let b2 = server.open(&b2_path, 1);
    server.diagnostics_until(&b2, |p| p["version"] == 1);
    Fixture {
        project,
        server,
        a1_text,
        b2_text,
        a1,
        b2,
    }
}

#[test]
fn hover_on_ids_describes_the_revision() {
    let mut f = fixture();
    let own = f.server.request(
        "textDocument/hover",
        at(&f.b2, find(&f.b2_text, "b2'\ndown")),
    );
    let text = own["contents"]["value"].as_str().unwrap();
    assert!(text.starts_with("**Revision `b2`** — add users"), "{text}");
    assert!(
        text.contains("File: `migrations/versions/b2_users.py`"),
        "{text}"
    );
    assert!(text.contains("Parents: `a1` (create accounts)"), "{text}");
    assert!(text.contains("Children: `c3` (add orders)"), "{text}");
    let parent = f.server.request(
        "textDocument/hover",
        at(&f.b2, find(&f.b2_text, "a1'\nbranch")),
    );
    let text = parent["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("**Revision `a1`**") && text.contains("Status: base"),
        "{text}"
    );
    let nothing = f.server.request("textDocument/hover", at(&f.b2, (0, 0)));
    assert!(nothing.is_null());
    assert_eq!(f.server.shutdown(), Some(0));
}

#[test]
fn hover_on_a_finding_explains_its_rule() {
    let project = Project::new();
    project.write("a1_init.py", &migration("a1", None, "init"));
    let text =
        migration("b2", Some("a1"), "x").replace("down_revision = 'a1'", "down_revision = 'zz'");
    let path = project.write("b2_x.py", &text);
    let mut server = Server::start(&project.root, vscode_capabilities(), None);
    let uri = server.open(&path, 1);
    server.diagnostics_until(&uri, |p| has_code(p, "MG205"));
    // On the header's `Revises: a1`, which disagrees with the variable.
    let hover = server.request("textDocument/hover", at(&uri, find(&text, "Revises: a1")));
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.starts_with("### MG205 header-mismatch"), "{value}");
    assert!(value.contains("## What it does"), "{value}");
    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn definition_and_references_follow_the_graph() {
    let mut f = fixture();
    let def = f.server.request(
        "textDocument/definition",
        at(&f.b2, find(&f.b2_text, "a1'\nbranch")),
    );
    assert_eq!(def["uri"], f.a1.as_str());
    let (line, col) = find(&f.a1_text, "'a1'\ndown");
    assert_eq!(
        def["range"]["start"],
        json!({"line": line, "character": col})
    );

    let mut params = at(&f.b2, find(&f.b2_text, "b2'\ndown"));
    params["context"] = json!({"includeDeclaration": false});
    let refs = f.server.request("textDocument/references", params);
    let refs = refs.as_array().unwrap();
    assert_eq!(refs.len(), 1);
    assert!(refs[0]["uri"].as_str().unwrap().ends_with("c3_orders.py"));
    assert_eq!(f.server.shutdown(), Some(0));
}

#[test]
fn completion_offers_the_heads() {
    let mut f = fixture();
    // A new migration being written: down_revision still open.
    let text = "revision = 'd4'\ndown_revision = '\n";
    let path = f.project.versions.join("d4_new.py");
    let uri = f.server.open_text(&path, 1, text);
    f.server.diagnostics_until(&uri, |p| p["version"] == 1);
    let result = f
        .server
        .request("textDocument/completion", at(&uri, (1, 17)));
    let items = result.as_array().unwrap();
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    // d4 itself is a head too, but never its own parent.
    assert_eq!(labels, ["c3"]);
    assert_eq!(items[0]["textEdit"]["newText"], "c3");
    assert_eq!(items[0]["detail"], "head — add orders");

    // Outside a string, the id comes quoted like the file's other ids.
    let text2 = "revision = 'e5'\ndown_revision = \n";
    let uri2 = f
        .server
        .open_text(&f.project.versions.join("e5_new.py"), 1, text2);
    f.server.diagnostics_until(&uri2, |p| p["version"] == 1);
    let result = f
        .server
        .request("textDocument/completion", at(&uri2, (1, 16)));
    let new_texts: Vec<&str> = result
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["textEdit"]["newText"].as_str().unwrap())
        .collect();
    assert!(
        new_texts.contains(&"'c3'") && new_texts.contains(&"'d4'"),
        "{new_texts:?}"
    );
    assert_eq!(f.server.shutdown(), Some(0));
}

#[test]
fn document_and_workspace_symbols() {
    let mut f = fixture();
    let symbols = f.server.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": f.b2}}),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "revision",
            "down_revision",
            "branch_labels",
            "depends_on",
            "upgrade",
            "downgrade"
        ]
    );
    assert_eq!(symbols[0]["detail"], "b2 — add users");
    assert_eq!(symbols[4]["children"][0]["name"], "op.create_table");

    let found = f
        .server
        .request("workspace/symbol", json!({"query": "ORDERS"}));
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["name"], "c3 add orders");
    let all = f.server.request("workspace/symbol", json!({"query": ""}));
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert_eq!(f.server.shutdown(), Some(0));
}

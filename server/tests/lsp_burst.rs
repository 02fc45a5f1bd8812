//! 2,000 incremental edits sent without waiting: the last diagnostics
//! published equal what `--check` says about the final text.

mod lsp_support;

use std::collections::BTreeSet;
use std::path::Path;

use lsp_support::*;
use serde_json::Value;

/// A small deterministic generator (no dependency for one test).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Line and UTF-16 column of a byte offset (the texts here use `\n` only).
fn position(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() as u32,
        text[line_start..offset].encode_utf16().count() as u32,
    )
}

fn char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

/// (code, line, code-point column, end line, end column, message), 1-based like `--check`.
type Finding = (String, u64, u64, u64, u64, String);

fn from_lsp(text: &str, params: &Value) -> BTreeSet<Finding> {
    let lines: Vec<&str> = text.split('\n').collect();
    let column = |pos: &Value| -> u64 {
        let line = lines
            .get(pos["line"].as_u64().unwrap() as usize)
            .copied()
            .unwrap_or("");
        let units = pos["character"].as_u64().unwrap() as usize;
        let mut seen = 0;
        let mut points = 0;
        for c in line.chars() {
            if seen >= units {
                break;
            }
            seen += c.len_utf16();
            points += 1;
        }
        points + 1
    };
    params["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let (start, end) = (&d["range"]["start"], &d["range"]["end"]);
            (
                d["code"].as_str().unwrap().to_owned(),
                start["line"].as_u64().unwrap() + 1,
                column(start),
                end["line"].as_u64().unwrap() + 1,
                column(end),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn from_check(report: &Value, file: &str) -> BTreeSet<Finding> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| Path::new(d["path"].as_str().unwrap()).file_name().unwrap() == file)
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["end_line"].as_u64().unwrap(),
                d["end_column"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const SNIPPETS: [&str; 14] = [
    "x",
    " ",
    "\n",
    "    ",
    "op.drop_table('t')\n    ",
    "😀",
    "é",
    "(",
    ")",
    "'",
    "\"\"\"",
    "# destructive: approved\n    ",
    "pass\n",
    "op.add_column('t', sa.Column('c', sa.Integer(), nullable=False))\n    ",
];

#[test]
fn two_thousand_edits_end_where_check_ends() {
    let project = Project::new();
    let a1 = migration("a1", None, "init");
    let b2 = migration("b2", Some("a1"), "users");
    project.write("a1_init.py", &a1);
    project.write("b2_users.py", &b2);
    let mut text = migration("c3", Some("b2"), "orders");
    let path = project.write("c3_orders.py", &text);
    let mut server = Server::start(&project.root, neovim_capabilities(), None);
    let uri = server.open(&path, 1);
    server.diagnostics_until(&uri, |p| p["version"] == 1);

    let body_start = text.find("def upgrade():\n").unwrap() + "def upgrade():\n".len();
    let parent = text.find("'b2'\nbranch_labels").unwrap() + 1;
    let mut rng = Lcg(7);
    let edits = 2000;
    for version in 2..2 + edits {
        if version % 97 == 0 {
            // Flip the parent: b2 (one head) ↔ a1 (two heads, MG201 on b2 and c3).
            let now = &text[parent..parent + 2];
            let new = if now == "a1" { "b2" } else { "a1" };
            let (start, end) = (position(&text, parent), position(&text, parent + 2));
            server.change(&uri, version, start, end, new);
            text.replace_range(parent..parent + 2, new);
            continue;
        }
        let start = char_boundary(&text, body_start + rng.next(text.len() - body_start));
        let mut end = start;
        for _ in 0..rng.next(4) {
            if let Some(c) = text[end..].chars().next() {
                end += c.len_utf8();
            }
        }
        let insert = if rng.next(3) == 0 {
            ""
        } else {
            SNIPPETS[rng.next(SNIPPETS.len())]
        };
        server.change(
            &uri,
            version,
            position(&text, start),
            position(&text, end),
            insert,
        );
        text.replace_range(start..end, insert);
    }
    // Leave two heads at the end.
    if &text[parent..parent + 2] != "a1" {
        let (start, end) = (position(&text, parent), position(&text, parent + 2));
        server.change(&uri, 2 + edits, start, end, "a1");
        text.replace_range(parent..parent + 2, "a1");
    } else {
        server.change(&uri, 2 + edits, (0, 0), (0, 0), "");
    }
    let last = 2 + edits;
    let published = server.diagnostics_until(&uri, |p| p["version"] == last);
    // Versions only move forward: nothing older is published after something newer.
    let versions: Vec<i64> = server
        .seen
        .iter()
        .filter(|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri.as_str()
        })
        .map(|m| m["params"]["version"].as_i64().unwrap())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{versions:?}");

    // The same files, checked by the CLI.
    let check = Project::new();
    check.write("a1_init.py", &a1);
    check.write("b2_users.py", &b2);
    check.write("c3_orders.py", &text);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_alembic-lsp"))
        .args(["--check", "--format", "json"])
        .arg(&check.versions)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = from_check(&report, "c3_orders.py");
    assert!(expected.iter().any(|f| f.0 == "MG201"), "{expected:#?}");
    assert_eq!(from_lsp(&text, &published), expected);

    // The other head's set comes in the same snapshot, after the open
    // document's (open documents are published first).
    let b2_uri = lsp_support::uri(&project.versions.join("b2_users.py"));
    let b2_expected = from_check(&report, "b2_users.py");
    assert!(
        b2_expected.iter().any(|f| f.0 == "MG201"),
        "{b2_expected:#?}"
    );
    server.diagnostics_until(&b2_uri, |p| from_lsp(&b2, p) == b2_expected);
    assert_eq!(server.shutdown(), Some(0));
}

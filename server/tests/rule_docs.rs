//! `docs/rules/<CODE>.md` are generated from the rules' doc comments, the
//! single source of `--explain`, the hover and these pages. This test fails
//! when a checked-in page differs from what the rule says;
//! `UPDATE_RULE_DOCS=1 cargo test --test rule_docs` rewrites them.

use std::path::{Path, PathBuf};

use alembic_lsp::rules::{Rule, ALL};

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules")
}

fn page(rule: &Rule) -> String {
    let tag = match rule.tag {
        Some(tag) => format!("`# {tag}`"),
        None => "—".to_owned(),
    };
    format!(
        "<!-- Generated from the rule's doc comment: UPDATE_RULE_DOCS=1 cargo test --test rule_docs -->\n\
         # {code} {name}\n\n\
         | Default severity | Approval tag |\n\
         |---|---|\n\
         | {severity} | {tag} |\n\n\
         {explanation}\n",
        code = rule.code,
        name = rule.name,
        severity = rule.default_severity.as_str(),
        explanation = rule.explanation(),
    )
}

fn index() -> String {
    let mut out = String::from(
        "<!-- Generated from the rules: UPDATE_RULE_DOCS=1 cargo test --test rule_docs -->\n\
         # Rules\n\n\
         | Code | Name | Default | Fires on |\n\
         |---|---|---|---|\n",
    );
    for rule in ALL {
        out.push_str(&format!(
            "| [{code}]({code}.md) | {name} | {severity} | {summary} |\n",
            code = rule.code,
            name = rule.name,
            severity = rule.default_severity.as_str(),
            summary = rule.summary,
        ));
    }
    out
}

#[test]
fn checked_in_rule_docs_are_current() {
    let dir = docs_dir();
    let mut expected: Vec<(PathBuf, String)> = ALL
        .iter()
        .map(|r| (dir.join(format!("{}.md", r.code)), page(r)))
        .collect();
    expected.push((dir.join("README.md"), index()));
    if std::env::var_os("UPDATE_RULE_DOCS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        for (path, text) in &expected {
            std::fs::write(path, text).unwrap();
        }
    }
    let mut stale = Vec::new();
    for (path, text) in &expected {
        if std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if !expected.iter().any(|(p, _)| *p == path) {
            stale.push(format!("{} (no such rule)", path.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "rule docs are stale; run `UPDATE_RULE_DOCS=1 cargo test --test rule_docs`:\n{}",
        stale.join("\n")
    );
}

//! Every case of `tests/fixtures/alembic-semantics` (a copy of
//! `../shared/alembic-semantics`, computed with real Alembic 1.20): run
//! `alembic-lsp --check --format json` inside the case folder, as a user
//! would, and compare the graph with what Alembic built.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/alembic-semantics")
}

fn ids(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn check_case(dir: &Path) -> Result<(), String> {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let output = Command::new(env!("CARGO_BIN_EXE_alembic-lsp"))
        .args(["--check", "--format", "json"])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let actual: Value = serde_json::from_str(&stdout).map_err(|e| {
        format!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let graphs = actual["graphs"].as_array().ok_or("no graphs")?;
    if graphs.len() != 1 {
        return Err(format!("expected one graph, got {}", graphs.len()));
    }
    let graph = &graphs[0];
    let code = output.status.code();
    let alembic_ok = expected["ok"].as_bool().unwrap_or(false);
    if graph["ok"].as_bool() != Some(alembic_ok) {
        return Err(format!(
            "ok: alembic says {alembic_ok}, we say {}",
            graph["ok"]
        ));
    }
    if !alembic_ok {
        let errors = actual["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["severity"] == "error")
            .count();
        if errors == 0 {
            return Err(format!(
                "Alembic fails ({}) but no error diagnostic",
                expected["error"]["message"]
            ));
        }
        if code != Some(1) {
            return Err(format!("exit code {code:?}, expected 1"));
        }
        return Ok(());
    }
    let compare = [
        ("heads", "heads"),
        ("heads_consider_depends_on", "effective_heads"),
        ("bases", "bases"),
        ("merge_points", "merges"),
        ("branch_points", "branch_points"),
    ];
    for (theirs, ours) in compare {
        if ids(&expected[theirs]) != ids(&graph[ours]) {
            return Err(format!(
                "{ours}: alembic {} vs ours {}",
                expected[theirs], graph[ours]
            ));
        }
    }
    if expected["n_revisions"] != graph["revisions"] {
        return Err(format!(
            "revisions: alembic {} vs ours {}",
            expected["n_revisions"], graph["revisions"]
        ));
    }
    Ok(())
}

#[test]
fn every_alembic_semantics_case_matches_real_alembic() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("fixtures present")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} cases found", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|dir| {
            check_case(dir)
                .err()
                .map(|e| format!("{}: {e}", dir.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

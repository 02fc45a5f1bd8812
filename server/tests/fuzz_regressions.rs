//! Inputs the fuzzer once crashed on (`tests/fixtures/fuzz-regressions`):
//! each is checked by the binary in every output format, never panicking.

use std::path::Path;
use std::process::Command;

#[test]
fn every_fuzz_regression_is_checked_without_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fuzz-regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("regressions folder") {
        let path = entry.unwrap().path();
        for format in ["text", "json", "sarif", "github", "gitlab"] {
            let out = Command::new(env!("CARGO_BIN_EXE_alembic-lsp"))
                .args(["--check", "--format", format])
                .arg(&path)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{} ({format}): exit {:?}: {stderr}",
                path.display(),
                out.status.code()
            );
        }
        count += 1;
    }
    assert!(count > 0);
}

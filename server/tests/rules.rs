//! Every rule against its fixtures in `tests/fixtures/rules/<CODE>/`: each
//! `fire_*.py` must produce at least one finding of its rule and each
//! `quiet_*.py` none; what the tool says about every fixture is snapshotted.
//! A `<name>.toml` next to a fixture is its configuration (the content of an
//! `alembic-lsp.toml`). Then every fix of every finding is applied and the
//! file re-checked: the finding is gone, nothing new appears, and the file
//! parses no worse than before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alembic_lsp::config::Config;
use alembic_lsp::diagnostic::{Diagnostic, Fix, FixKind};
use alembic_lsp::migration::MigrationFile;
use alembic_lsp::rules::{self, FileContext};

struct Fixture {
    code: String,
    name: String,
    path: PathBuf,
    text: String,
    config: Config,
}

fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/rules");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("tests/fixtures/rules exists") {
        let dir = dir.unwrap().path();
        let code = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(rules::by_code(&code).is_some(), "{code} is not a rule");
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|e| e != "py") {
                continue;
            }
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                name.starts_with("fire_") || name.starts_with("quiet_"),
                "{}: a fixture is fire_* or quiet_*",
                path.display()
            );
            let toml = path.with_extension("toml");
            let config = if toml.exists() {
                let text = std::fs::read_to_string(&toml).unwrap();
                Config::from_toml(&text, Path::new("alembic-lsp.toml"))
                    .expect("fixture config is valid")
            } else {
                Config::default()
            };
            out.push(Fixture {
                code: code.clone(),
                name,
                text: std::fs::read_to_string(&path).unwrap(),
                path,
                config,
            });
        }
    }
    out.sort_by(|a, b| (&a.code, &a.name).cmp(&(&b.code, &b.name)));
    out
}

fn check(text: &str, config: &Config) -> (MigrationFile, Vec<Diagnostic>) {
    let file = MigrationFile::parse(text.to_owned());
    let mut diagnostics = rules::check_file(&FileContext {
        file: &file,
        config,
        file_name: "a1b2c3d4e5f6_fixture.py",
    });
    diagnostics.sort_by_key(|d| (d.range.start, d.rule.code));
    (file, diagnostics)
}

/// `line:col CODE message`, 1-based, columns in code points; fixes below.
fn render(file: &MigrationFile, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let at = file.line_index.to_code_points(&file.text, d.range.start);
        let end = file.line_index.to_code_points(&file.text, d.range.end);
        out.push_str(&format!(
            "{}:{}-{}:{} {} {}\n",
            at.line + 1,
            at.col + 1,
            end.line + 1,
            end.col + 1,
            d.rule.code,
            d.message
        ));
        for fix in &d.fixes {
            let kind = match fix.kind {
                FixKind::Approve => "approve",
                FixKind::Rewrite => "rewrite",
            };
            out.push_str(&format!("    fix ({kind}): {}\n", fix.title));
            if fix.kind == FixKind::Rewrite {
                out.push_str(&changed_lines(&file.text, fix));
            }
        }
    }
    if out.is_empty() {
        out.push_str("(no findings)\n");
    }
    out
}

fn apply(text: &str, fix: &Fix) -> String {
    let mut edits = fix.edits.clone();
    edits.sort_by_key(|e| std::cmp::Reverse((e.range.start, e.range.end)));
    let mut text = text.to_owned();
    for edit in edits {
        text.replace_range(edit.range.start..edit.range.end, &edit.new_text);
    }
    text
}

/// The lines a rewrite touches, as a diff without context, for review.
fn changed_lines(before: &str, fix: &Fix) -> String {
    let after = apply(before, fix);
    let diff = similar::TextDiff::from_lines(before, &after);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Equal => continue,
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
        };
        out.push_str(&format!("      {sign}{}", change.value()));
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[test]
fn every_fixture_fires_or_stays_quiet_as_named() {
    let fixtures = fixtures();
    assert!(fixtures.len() > 50, "fixtures found: {}", fixtures.len());
    let mut failures = Vec::new();
    for f in &fixtures {
        let (file, diagnostics) = check(&f.text, &f.config);
        let own = diagnostics.iter().filter(|d| d.rule.code == f.code).count();
        let fire = f.name.starts_with("fire_");
        if fire && own == 0 {
            failures.push(format!("{}: expected {} to fire", f.path.display(), f.code));
        }
        if !fire && own > 0 {
            failures.push(format!(
                "{}: expected no {}, got:\n{}",
                f.path.display(),
                f.code,
                render(&file, &diagnostics)
            ));
        }
        if diagnostics.iter().any(|d| d.rule.code == "MG001") {
            failures.push(format!("{}: the fixture does not parse", f.path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn snapshots() {
    for f in fixtures() {
        let (file, diagnostics) = check(&f.text, &f.config);
        insta::with_settings!({
            input_file => &f.path,
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{}__{}", f.code, f.name), render(&file, &diagnostics));
        });
    }
}

/// `(code, message)` → how many findings say it.
fn tally(diagnostics: &[Diagnostic]) -> BTreeMap<(&'static str, String), usize> {
    let mut counts = BTreeMap::new();
    for d in diagnostics {
        *counts.entry((d.rule.code, d.message.clone())).or_default() += 1;
    }
    counts
}

/// Applies every fix of every finding in `text` and re-checks; returns what
/// went wrong, and how many fixes were applied.
fn fix_failures(name: &str, text: &str, config: &Config) -> (Vec<String>, usize) {
    let (file, before) = check(text, config);
    let errors_before = file.syntax_errors.len();
    let counts_before = tally(&before);
    let mut failures = Vec::new();
    let mut applied = 0;
    for d in &before {
        let tag = config.tag_for(d.rule.code).map(|t| format!("# {t}"));
        for fix in &d.fixes {
            applied += 1;
            let fixed = apply(text, fix);
            let (fixed_file, after) = check(&fixed, config);
            let counts_after = tally(&after);
            let key = (d.rule.code, d.message.clone());
            let what = format!("{} `{}` on {name}", fix.title, d.message);
            if fixed_file.syntax_errors.len() > errors_before {
                failures.push(format!("{what}: the fixed file does not parse:\n{fixed}"));
            }
            if counts_after.get(&key).copied().unwrap_or(0) >= counts_before[&key] {
                failures.push(format!("{what}: the finding is still there:\n{fixed}"));
            }
            for (k, n) in &counts_after {
                if *n > counts_before.get(k).copied().unwrap_or(0) {
                    failures.push(format!("{what}: new finding {} {}:\n{fixed}", k.0, k.1));
                }
            }
            if let Some(tag) = &tag {
                if fixed.matches(tag.as_str()).count() > text.matches(tag.as_str()).count() + 1 {
                    failures.push(format!("{what}: the tag was inserted twice"));
                }
            }
        }
    }
    (failures, applied)
}

#[test]
fn every_fix_removes_its_finding_and_adds_nothing() {
    let mut applied = 0;
    let mut failures = Vec::new();
    for f in fixtures() {
        let (mut found, n) = fix_failures(&f.path.display().to_string(), &f.text, &f.config);
        failures.append(&mut found);
        applied += n;
    }
    assert!(applied > 40, "fixes applied: {applied}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The same over real migration trees (`tests/corpus/`, fetched with
/// `../shared/corpus/fetch.sh` into `$ALEMBIC_CORPUS_DIR`, default
/// `~/.cache/alembic-corpus`): `cargo test --release --test rules -- --ignored`.
#[test]
#[ignore = "needs the fetched corpora"]
fn every_fix_on_the_corpora() {
    let root = std::env::var_os("ALEMBIC_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/alembic-corpus")
        });
    let with_helper = Config {
        concurrent_index_helpers: vec!["app.db.create_index_concurrently".into()],
        ..Config::default()
    };
    let (mut files, mut applied, mut failures) = (0, 0, Vec::new());
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "py") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            files += 1;
            for config in [&Config::default(), &with_helper] {
                let (mut found, n) = fix_failures(&path.display().to_string(), &text, config);
                failures.append(&mut found);
                applied += n;
            }
        }
    }
    assert!(files > 0, "no corpus found");
    eprintln!("{files} files, {applied} fixes applied");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

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
use alembic_lsp::diagnostic::{Diagnostic, Edit, Fix, FixKind};
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

/// A statement being typed must not take the rest of the file's findings
/// with it: every fixture, each call line cut right after its first `(` (or
/// inside its first string), keeps every finding of the other lines, and
/// MG001 points at the cut line.
#[test]
fn a_half_typed_line_keeps_the_findings_of_the_others() {
    let mut failures = Vec::new();
    let mut cuts = 0;
    for f in fixtures() {
        let (_, before) = check(&f.text, &f.config);
        let lines: Vec<&str> = f.text.split_inclusive('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            // Statements on one line (cut, the line is left open).
            let one_line = line.matches('(').count() == line.matches(')').count();
            if !(trimmed.starts_with("op.") || trimmed.starts_with("batch_op.")) || !one_line {
                continue;
            }
            for cut_after in ['(', '"'] {
                let Some(at) = line.find(cut_after) else {
                    continue;
                };
                // The rest of the line goes; its line break stays.
                let cut = format!("{}\n", &line[..=at]);
                let text: String = lines[..i]
                    .iter()
                    .copied()
                    .chain([cut.as_str()])
                    .chain(lines[i + 1..].iter().copied())
                    .collect();
                let (file, after) = check(&text, &f.config);
                cuts += 1;
                let what = format!(
                    "{} line {} cut after `{cut_after}`",
                    f.path.display(),
                    i + 1
                );
                let syntax: Vec<&Diagnostic> =
                    after.iter().filter(|d| d.rule.code == "MG001").collect();
                let on_cut_line = |d: &&Diagnostic| file.line_index.line_of(d.range.start) == i;
                if syntax.is_empty() || !syntax.iter().all(on_cut_line) {
                    failures.push(format!(
                        "{what}: MG001 not on the cut line:\n{}",
                        render(&file, &after)
                    ));
                }
                // Findings by line and column: the cut line is shorter.
                let (original, cut_file) = (&f.text, &file);
                let place =
                    |text: &str, index: &alembic_lsp::position::LineIndex, d: &Diagnostic| {
                        let a = index.to_code_points(text, d.range.start);
                        let b = index.to_code_points(text, d.range.end);
                        (d.rule.code, d.message.clone(), a.line, a.col, b.line, b.col)
                    };
                let original_index = alembic_lsp::position::LineIndex::new(original);
                let kept: Vec<_> = after
                    .iter()
                    .map(|d| place(&cut_file.text, &cut_file.line_index, d))
                    .collect();
                for d in &before {
                    let p = place(original, &original_index, d);
                    // A finding on the cut line went with it, and so may
                    // one about its tag (MG106) or about what the whole
                    // upgrade() does (MG401).
                    if p.0 == "MG106" || p.0 == "MG401" || (p.2..=p.4).contains(&(i as u32)) {
                        continue;
                    }
                    if !kept.contains(&p) {
                        failures.push(format!(
                            "{what}: lost {} {} at {}:{}:\n{}",
                            p.0,
                            p.1,
                            p.2 + 1,
                            p.3 + 1,
                            render(&file, &after)
                        ));
                    }
                }
            }
        }
    }
    assert!(cuts > 100, "only {cuts} lines cut");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
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

/// Generated migrations: random combinations of the statements the rules
/// look at, with and without tags, in every layout variation; every fix of
/// every finding must pass `fix_failures` and `fix_claims`.
mod generated {
    use super::*;
    use proptest::prelude::*;

    /// Statements of `upgrade()`, `{i}` the indentation, `{s}` a string
    /// that may hold non-ASCII text.
    const STATEMENTS: &[&str] = &[
        "{i}op.drop_table(\"{s}\")",
        "{i}op.drop_column(\"users\", \"{s}\")",
        "{i}op.alter_column(\"users\", \"email\", nullable=False)",
        "{i}op.alter_column(\"users\", \"email\", type_=sa.Text())",
        "{i}op.alter_column(\n{i}{i}\"users\",\n{i}{i}\"email\",\n{i}{i}existing_type=sa.String(),\n{i}{i}nullable=False,\n{i})",
        "{i}op.create_index(\"ix_{s}\", \"users\", [\"email\"])",
        "{i}op.create_index(\n{i}{i}\"ix_email\",\n{i}{i}\"users\",\n{i}{i}[\"email\"],\n{i})",
        "{i}op.drop_index(\"ix_{s}\")",
        "{i}op.add_column(\"users\", sa.Column(\"{s}\", sa.Integer(), nullable=False))",
        "{i}op.add_column(\"users\", sa.Column(\"id2\", sa.Uuid(), server_default=sa.text(\"gen_random_uuid()\")))",
        "{i}op.create_foreign_key(\"fk\", \"orders\", \"users\", [\"user_id\"], [\"id\"])",
        "{i}op.create_unique_constraint(\"uq\", \"users\", [\"email\"])",
        "{i}op.rename_table(\"old\", \"new\")",
        "{i}op.execute(\"DROP TABLE {s}\")",
        "{i}op.execute(\"ALTER TABLE users ALTER COLUMN email TYPE text\")",
        "{i}op.execute(\"CREATE INDEX ix ON users (email); DROP INDEX ix_old\")",
        "{i}op.execute(sa.text(\"\"\"\n    ALTER TABLE users\n        DROP COLUMN {s}\n\"\"\"))",
        "{i}op.execute(\"ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id)\")",
        "{i}with op.batch_alter_table(\"users\") as batch_op:\n{i}{i}batch_op.drop_column(\"{s}\")\n{i}{i}batch_op.alter_column(\"email\", nullable=False)",
        "{i}with op.get_context().autocommit_block():\n{i}{i}op.create_index(\"ix\", \"users\", [\"email\"], postgresql_concurrently=True)",
        "{i}op.create_index(\"ix\", \"users\", [\"email\"], postgresql_concurrently=True)",
        "{i}op.create_table(\"{s}\", sa.Column(\"id\", sa.Integer(), primary_key=True))\n{i}op.create_index(\"ix_new\", \"{s}\", [\"id\"])",
        "{i}x = 1  # not an operation",
        "{i}pass",
    ];

    /// Comments above or after a statement.
    const ABOVE: &[&str] = &[
        "",
        "{i}# destructive: approved\n",
        "{i}# backfill: ok\n",
        "{i}# type-change: approved -- reviewed\n",
        "{i}# destructive: approve\n",
        "{i}# destructve: approved\n",
        "{i}# a plain comment\n",
        "\n",
        "{i}# Destructive: Approved\n{i}# second line\n",
    ];
    const TRAILING: &[&str] = &[
        "",
        "  # destructive: approved",
        "  # type-change: approved; backfill: ok",
        "  # empty: allow",
        "  # note",
    ];
    const STRINGS: &[&str] = &["legacy", "tàble_😀", "naïve", "日本"];
    const DOWNGRADES: &[&str] = &[
        "\n\ndef downgrade():\n{i}op.drop_table(\"x\")\n",
        "\n\ndef downgrade():\n{i}pass\n",
        "\n\ndef downgrade():\n{i}raise NotImplementedError()\n",
        "",
    ];

    #[derive(Debug, Clone)]
    struct Layout {
        statements: Vec<(usize, usize, usize, usize)>,
        docstring: bool,
        tab: bool,
        crlf: bool,
        trailing_spaces: bool,
        upgrade_comment: usize,
        downgrade: usize,
        helper: bool,
        require_reason: bool,
    }

    fn layout() -> impl Strategy<Value = Layout> {
        (
            prop::collection::vec(
                (
                    0..STATEMENTS.len(),
                    0..ABOVE.len(),
                    0..TRAILING.len(),
                    0..STRINGS.len(),
                ),
                0..6,
            ),
            any::<[bool; 6]>(),
            0..3usize,
            0..DOWNGRADES.len(),
        )
            .prop_map(|(statements, flags, upgrade_comment, downgrade)| Layout {
                statements,
                docstring: flags[0],
                tab: flags[1],
                crlf: flags[2],
                trailing_spaces: flags[3],
                helper: flags[4],
                require_reason: flags[5],
                upgrade_comment,
                downgrade,
            })
    }

    fn render(l: &Layout) -> String {
        let i = if l.tab { "\t" } else { "    " };
        let fill = |t: &str, s: &str| t.replace("{i}", i).replace("{s}", s);
        let mut text = String::new();
        if l.docstring {
            text.push_str("\"\"\"add things — ünïcode\n\nRevision ID: a1b2c3d4e5f6\nRevises: \nCreate Date: 2024-01-01 00:00:00\n\n\"\"\"\n");
        }
        text.push_str("from alembic import op\nimport sqlalchemy as sa\n\nrevision = \"a1b2c3d4e5f6\"\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\n\n");
        match l.upgrade_comment {
            1 => text.push_str("# empty: allow\n"),
            2 => text.push_str("# a comment above def\n"),
            _ => {}
        }
        text.push_str("def upgrade():\n");
        if l.statements.is_empty() {
            text.push_str(&format!("{i}pass\n"));
        }
        for &(statement, above, trailing, s) in &l.statements {
            text.push_str(&fill(ABOVE[above], STRINGS[s]));
            text.push_str(&fill(STATEMENTS[statement], STRINGS[s]));
            text.push_str(TRAILING[trailing]);
            text.push('\n');
        }
        text.push_str(&fill(DOWNGRADES[l.downgrade], ""));
        if l.trailing_spaces {
            text = text.replace("\n", "  \n");
        }
        if l.crlf {
            text = text.replace('\n', "\r\n");
        }
        text
    }

    /// `(kind, text)` of every token that is code, not a comment.
    fn code_tokens(text: &str) -> Vec<(String, String)> {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        let tree = parser.parse(text, None).unwrap();
        let mut out = Vec::new();
        let mut todo = vec![tree.root_node()];
        while let Some(node) = todo.pop() {
            if node.kind() == "comment" {
                continue;
            }
            if node.child_count() == 0 {
                if node.start_byte() < node.end_byte() && !node.kind().contains("newline") {
                    out.push((node.kind().to_owned(), text[node.byte_range()].to_owned()));
                }
                continue;
            }
            let mut cursor = node.walk();
            let children: Vec<_> = node.children(&mut cursor).collect();
            todo.extend(children.into_iter().rev());
        }
        out
    }

    /// What a fix claims, checked on its edits: they lie in the text, on
    /// character boundaries, without overlapping; an approval only adds
    /// comments (the code tokens stay the same); a rewrite stays on the lines
    /// of its finding's statement and the comment block right above it.
    fn fix_claims(file: &MigrationFile, d: &Diagnostic, fix: &Fix) -> Vec<String> {
        let text = &file.text;
        let what = format!("{} `{}`", fix.title, d.message);
        let mut failures = Vec::new();
        let mut ranges: Vec<_> = fix.edits.iter().map(|e| e.range).collect();
        ranges.sort_by_key(|r| (r.start, r.end));
        for r in &ranges {
            if r.start > r.end
                || r.end > text.len()
                || !text.is_char_boundary(r.start)
                || !text.is_char_boundary(r.end)
            {
                failures.push(format!("{what}: edit {r:?} is not a range of the text"));
                return failures;
            }
        }
        if ranges.windows(2).any(|w| w[0].end > w[1].start) {
            failures.push(format!("{what}: edits overlap: {ranges:?}"));
        }
        let fixed = apply(text, fix);
        match fix.kind {
            FixKind::Approve => {
                if fix.edits.iter().any(|e| !e.range.is_empty()) {
                    failures.push(format!("{what}: an approval removes text"));
                }
                if code_tokens(text) != code_tokens(&fixed) {
                    failures.push(format!("{what}: an approval changed code:\n{fixed}"));
                }
            }
            FixKind::Rewrite => {
                let statement = d.anchor.map_or(d.range, |a| a.range);
                let last = file.line_index.line_of(statement.end);
                let mut top = file.line_index.line_of(statement.start);
                while top > 0 && file.line_text(top - 1).trim_start().starts_with('#') {
                    top -= 1;
                }
                let start = file.line_index.line_start(top);
                let end = file.line_index.line_start(last + 1).max(statement.end);
                // Besides, a rewrite may add the import of what it calls.
                let import = |e: &Edit| {
                    e.range.is_empty()
                        && e.new_text.lines().all(|l| {
                            let l = l.trim();
                            l.is_empty() || l.starts_with("from ") || l.starts_with("import ")
                        })
                };
                for e in &fix.edits {
                    if (e.range.start < start || e.range.end > end) && !import(e) {
                        failures.push(format!(
                            "{what}: edit {:?} {:?} leaves the statement's lines {start}..{end}",
                            e.range, e.new_text
                        ));
                    }
                }
            }
        }
        failures
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            // Tests write nothing into the source tree; a failure prints its input.
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn every_fix_on_generated_migrations(l in layout()) {
            let text = render(&l);
            let config = Config {
                concurrent_index_helpers: if l.helper {
                    vec!["app.db.create_index_concurrently".into()]
                } else {
                    Vec::new()
                },
                require_reason: l.require_reason,
                ..Config::default()
            };
            let (file, diagnostics) = check(&text, &config);
            prop_assert!(file.syntax_errors.is_empty(), "the generator made a broken file:\n{}", text);
            let (mut failures, _) = fix_failures("generated", &text, &config);
            for d in &diagnostics {
                for fix in &d.fixes {
                    failures.extend(fix_claims(&file, d, fix));
                }
            }
            prop_assert!(failures.is_empty(), "{}\n\n--- input:\n{}", failures.join("\n\n"), text);
        }
    }
}

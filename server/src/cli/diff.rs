//! `--diff REF`: which files changed since the merge base of REF and `HEAD`,
//! read with the `git` command, and the filter that keeps only the findings
//! on those files.
//!
//! The comparison is the working tree (staged, unstaged and untracked files
//! not ignored by git) against the merge base. In CI the working tree is the
//! commit under test, so this is `git diff REF...HEAD`; on a developer's
//! machine it includes the work not committed yet, which is what pre-commit
//! and an editor see. Renames are followed (`-M`): a renamed migration is
//! changed, not added.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use globset::{GlobBuilder, GlobSetBuilder};

use super::report::Report;
use super::Fatal;
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::project::Analysis;

/// The files that differ between the merge base and the working tree, as
/// absolute paths under the repository root.
#[derive(Debug, Default)]
pub struct ChangedFiles {
    /// Files that did not exist at the merge base (untracked ones included).
    pub added: BTreeSet<PathBuf>,
    /// Files modified, or renamed (under their new name).
    pub modified: BTreeSet<PathBuf>,
    /// Files deleted, or renamed (under their old name).
    pub deleted: BTreeSet<PathBuf>,
}

impl ChangedFiles {
    /// Asks git in `dir` what changed since the merge base of `reference`
    /// and `HEAD`.
    pub fn since(reference: &str, dir: &Path) -> Result<ChangedFiles, Fatal> {
        if reference.starts_with('-') {
            return Err(Fatal(format!(
                "--diff: `{reference}` is not a git revision"
            )));
        }
        let root = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|_| {
            Fatal(format!(
                "--diff: {} is not in a git repository",
                dir.display()
            ))
        })?;
        let root = normalize(Path::new(root.trim_end_matches(['\n', '\r'])));
        git(
            &root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{reference}^{{commit}}"),
            ],
        )
        .map_err(|_| Fatal(format!("--diff: unknown git revision `{reference}`")))?;
        let base = git(&root, &["merge-base", reference, "HEAD"]).map_err(|e| {
            Fatal(format!(
                "--diff: no merge base of `{reference}` and HEAD ({e}); in a shallow clone, fetch the history (actions/checkout: fetch-depth: 0)"
            ))
        })?;
        let diff = git(
            &root,
            &[
                "diff",
                "--no-ext-diff",
                "--name-status",
                "-z",
                "-M",
                base.trim(),
                "--",
            ],
        )
        .map_err(|e| Fatal(format!("--diff: git diff failed: {e}")))?;
        let untracked = git(&root, &["ls-files", "--others", "--exclude-standard", "-z"])
            .map_err(|e| Fatal(format!("--diff: git ls-files failed: {e}")))?;

        let mut changed = parse_name_status(&diff, &root);
        changed.added.extend(
            untracked
                .split('\0')
                .filter(|p| !p.is_empty())
                .map(|p| root.join(p)),
        );
        Ok(changed)
    }

    /// Added or modified: the findings on this file are part of the change.
    pub fn touches(&self, path: &Path) -> bool {
        self.added.contains(path) || self.modified.contains(path)
    }

    /// Every changed path, deleted ones included, in order.
    pub fn all(&self) -> BTreeSet<&PathBuf> {
        self.added
            .iter()
            .chain(&self.modified)
            .chain(&self.deleted)
            .collect()
    }
}

/// The changed files (deleted ones too) that match `schema-paths`, as shown
/// to the user, sorted; migrations never count. Patterns are relative to
/// the configuration file's folder, and `*` stops at `/` (`**` crosses it).
pub fn schema_files(
    config: &Config,
    changes: &ChangedFiles,
    migrations: &HashSet<PathBuf>,
    report: &Report,
) -> Result<Vec<String>, Fatal> {
    if config.schema_paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut patterns = GlobSetBuilder::new();
    for pattern in &config.schema_paths {
        patterns.add(
            GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| Fatal(format!("schema-paths: `{pattern}`: {e}")))?,
        );
    }
    let patterns = patterns.build()?;
    let root = normalize(&config.root);
    let mut found: Vec<String> = changes
        .all()
        .into_iter()
        .filter(|p| !migrations.contains(*p))
        .filter_map(|p| p.strip_prefix(&root).ok())
        .filter(|rel| patterns.is_match(rel))
        .map(|rel| report.display_path(&config.root.join(rel)))
        .collect();
    found.sort();
    Ok(found)
}

/// `git diff --name-status -z` output: `STATUS\0path\0`, and for renames and
/// copies `R100\0old\0new\0`.
fn parse_name_status(output: &str, root: &Path) -> ChangedFiles {
    let mut changed = ChangedFiles::default();
    let mut fields = output.split('\0').filter(|f| !f.is_empty());
    while let Some(status) = fields.next() {
        let Some(path) = fields.next() else { break };
        let path = root.join(path);
        match status.as_bytes()[0] {
            b'A' => {
                changed.added.insert(path);
            }
            b'D' => {
                changed.deleted.insert(path);
            }
            b'R' => {
                if let Some(new) = fields.next() {
                    changed.deleted.insert(path);
                    changed.modified.insert(root.join(new));
                }
            }
            b'C' => {
                if let Some(new) = fields.next() {
                    changed.added.insert(root.join(new));
                }
            }
            _ => {
                changed.modified.insert(path);
            }
        }
    }
    changed
}

/// Runs git in `dir`; its stdout, or the first line of its complaint.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(stderr
            .lines()
            .next()
            .unwrap_or("git failed")
            .trim()
            .to_owned())
    }
}

/// The form paths are compared in: absolute, symbolic links resolved where
/// the file exists.
pub fn normalize(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Keeps the findings on the changed files (`touched[i]` for file `i`), and
/// the graph findings (`graph_findings`, as the graph rules reported them)
/// of every other file when the same rule also fired on a changed file: a
/// new migration that makes a second head is reported with the old head.
pub fn retain_changed(
    analysis: &mut Analysis,
    graph_findings: &[(usize, Diagnostic)],
    touched: &[bool],
) {
    let on_changed = |file: usize| touched.get(file).copied().unwrap_or(false);
    let involved: HashSet<&str> = graph_findings
        .iter()
        .filter(|(file, _)| on_changed(*file))
        .map(|(_, d)| d.rule.code)
        .collect();
    for (file, list) in analysis.diagnostics.iter_mut().enumerate() {
        if on_changed(file) {
            continue;
        }
        list.retain(|d| {
            involved.contains(d.rule.code)
                && graph_findings
                    .iter()
                    .any(|(f, g)| *f == file && g.rule.code == d.rule.code && g.range == d.range)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_with_renames_and_copies() {
        let root = Path::new("/repo");
        let changed = parse_name_status(
            "A\0v/new.py\0M\0app/models.py\0D\0v/old.py\0R097\0v/a.py\0v/b.py\0C100\0x.py\0y.py\0",
            root,
        );
        let set =
            |list: &[&str]| -> BTreeSet<PathBuf> { list.iter().map(|p| root.join(p)).collect() };
        assert_eq!(changed.added, set(&["v/new.py", "y.py"]));
        assert_eq!(changed.modified, set(&["app/models.py", "v/b.py"]));
        assert_eq!(changed.deleted, set(&["v/old.py", "v/a.py"]));
        assert!(changed.touches(&root.join("v/b.py")));
        assert!(!changed.touches(&root.join("v/a.py")));
    }
}

//! The rules. Each rule is one file: a doc comment that is its explanation
//! (`--explain`, hover, `docs/rules/`), its declaration, and its check.
//! Adding a rule touches that file, one line of [`ALL`], and its fixtures.

use crate::config::Config;
use crate::diagnostic::{Diagnostic, Severity};
use crate::migration::MigrationFile;

/// Declares a rule; its doc comment becomes its explanation.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub static $id:ident = {
            code: $code:literal,
            name: $name:literal,
            severity: $severity:ident,
            tag: $tag:expr,
            summary: $summary:literal $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        pub static $id: $crate::rules::Rule = $crate::rules::Rule {
            code: $code,
            name: $name,
            default_severity: $crate::diagnostic::Severity::$severity,
            tag: $tag,
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
        };
    };
}

mod rewrite;
mod sql;
pub mod tags;
mod upgrade;

mod mg001_syntax_error;
mod mg002_dynamic_revision;
mod mg003_missing_upgrade;
mod mg004_missing_revision;
mod mg005_import_error;
mod mg101_destructive_unapproved;
mod mg102_empty_unallowed;
mod mg103_backfill_unacknowledged;
mod mg104_type_change_unapproved;
mod mg201_multiple_heads;
mod mg202_unknown_revision;
mod mg203_duplicate_revision;
mod mg204_revision_cycle;
mod mg205_header_mismatch;
mod mg206_branch_label_conflict;
mod mg207_invalid_revision_id;
mod mg301_index_not_concurrent;
mod mg302_concurrent_in_transaction;
mod mg303_drop_index_not_concurrent;
mod mg304_constraint_validates;
mod mg305_unique_constraint_locks;
mod mg306_rename;
mod mg307_volatile_default;
mod mg401_irreversible_downgrade;
pub mod mg402_one_migration_per_change;

#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub default_severity: Severity,
    /// The canonical approval tag, for the tag rules.
    pub tag: Option<&'static str>,
    /// One line: what it fires on.
    pub summary: &'static str,
    /// The rule's doc comment (Markdown).
    doc: &'static str,
}

impl Rule {
    /// The explanation in Markdown, from the rule's doc comment.
    pub fn explanation(&self) -> String {
        self.doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned()
    }

    /// Where the rule's documentation page lives.
    pub fn url(&self) -> String {
        format!(
            "https://github.com/alembic-lsp/alembic-lsp/blob/main/docs/rules/{}.md",
            self.code
        )
    }
}

/// Every rule, in code order.
pub static ALL: &[&Rule] = &[
    &mg001_syntax_error::RULE,
    &mg002_dynamic_revision::RULE,
    &mg003_missing_upgrade::RULE,
    &mg004_missing_revision::RULE,
    &mg005_import_error::RULE,
    &mg101_destructive_unapproved::RULE,
    &mg102_empty_unallowed::RULE,
    &mg103_backfill_unacknowledged::RULE,
    &mg104_type_change_unapproved::RULE,
    &tags::MALFORMED_TAG,
    &tags::UNUSED_TAG,
    &mg201_multiple_heads::RULE,
    &mg202_unknown_revision::RULE,
    &mg203_duplicate_revision::RULE,
    &mg204_revision_cycle::RULE,
    &mg205_header_mismatch::RULE,
    &mg206_branch_label_conflict::RULE,
    &mg207_invalid_revision_id::RULE,
    &mg301_index_not_concurrent::RULE,
    &mg302_concurrent_in_transaction::RULE,
    &mg303_drop_index_not_concurrent::RULE,
    &mg304_constraint_validates::RULE,
    &mg305_unique_constraint_locks::RULE,
    &mg306_rename::RULE,
    &mg307_volatile_default::RULE,
    &mg401_irreversible_downgrade::RULE,
    &mg402_one_migration_per_change::RULE,
];

pub fn by_code(code: &str) -> Option<&'static Rule> {
    let code = code.trim().to_ascii_uppercase();
    ALL.iter().copied().find(|r| r.code == code)
}

/// What a per-file rule sees.
pub struct FileContext<'a> {
    pub file: &'a MigrationFile,
    pub config: &'a Config,
    /// The file's name (`1a2b_add_users.py`), for Alembic's legacy id rule.
    pub file_name: &'a str,
}

/// Per-file diagnostics: they depend on the file and the configuration only,
/// so the language server can cache them per document version.
pub fn check_file(ctx: &FileContext) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    mg001_syntax_error::check(ctx, &mut out);
    mg002_dynamic_revision::check(ctx, &mut out);
    mg003_missing_upgrade::check(ctx, &mut out);
    mg004_missing_revision::check(ctx, &mut out);
    mg005_import_error::check(ctx, &mut out);
    mg205_header_mismatch::check(ctx, &mut out);
    mg102_empty_unallowed::check(ctx, &mut out);
    let upgrade = upgrade::Upgrade::of(ctx.file);
    mg101_destructive_unapproved::check(ctx, &upgrade, &mut out);
    mg103_backfill_unacknowledged::check(ctx, &upgrade, &mut out);
    mg104_type_change_unapproved::check(ctx, &upgrade, &mut out);
    mg301_index_not_concurrent::check(ctx, &upgrade, &mut out);
    mg302_concurrent_in_transaction::check(ctx, &upgrade, &mut out);
    mg303_drop_index_not_concurrent::check(ctx, &upgrade, &mut out);
    mg304_constraint_validates::check(ctx, &upgrade, &mut out);
    mg305_unique_constraint_locks::check(ctx, &upgrade, &mut out);
    mg306_rename::check(ctx, &upgrade, &mut out);
    mg307_volatile_default::check(ctx, &upgrade, &mut out);
    mg401_irreversible_downgrade::check(ctx, &upgrade, &mut out);
    tags::resolve_approvals(ctx, &mut out);
    finish(ctx.config, out)
}

pub use graph_rules::check_graph;

mod graph_rules {
    use super::*;
    use crate::graph::RevisionGraph;

    /// Graph diagnostics, as `(file handle of RevisionInput, diagnostic)`.
    /// `name` gives a file's display name, for messages naming other files.
    pub fn check_graph(
        graph: &RevisionGraph,
        config: &Config,
        name: &dyn Fn(usize) -> String,
    ) -> Vec<(usize, Diagnostic)> {
        let mut out = Vec::new();
        mg201_multiple_heads::check(graph, config, &mut out);
        mg202_unknown_revision::check(graph, &mut out);
        mg203_duplicate_revision::check(graph, name, &mut out);
        mg204_revision_cycle::check(graph, &mut out);
        mg206_branch_label_conflict::check(graph, &mut out);
        mg207_invalid_revision_id::check(graph, &mut out);
        out.into_iter()
            .filter_map(|(file, d)| finish_one(config, d).map(|d| (file, d)))
            .collect()
    }
}

/// Applies the configured severities and drops disabled rules.
pub(crate) fn finish(config: &Config, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostics
        .into_iter()
        .filter_map(|d| finish_one(config, d))
        .collect()
}

fn finish_one(config: &Config, mut d: Diagnostic) -> Option<Diagnostic> {
    d.severity = config.severity_of(d.rule)?;
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_documented() {
        for pair in ALL.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for rule in ALL {
            let text = rule.explanation();
            assert!(
                text.contains("## What it does"),
                "{} lacks an explanation",
                rule.code
            );
            assert!(text.contains("## Why"), "{} lacks a why", rule.code);
            assert!(rule
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'));
        }
    }
}

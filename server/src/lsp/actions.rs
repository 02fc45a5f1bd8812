//! Code actions: each finding's fixes as quick fixes (approvals are never
//! preferred and never part of `source.fixAll`: approving is a decision),
//! "approve every finding in this file", and for multiple heads a merge
//! revision or a re-pointed `down_revision`.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

use tower_lsp::lsp_types::{
    self as lsp, CodeAction, CodeActionKind, CreateFile, CreateFileOptions,
    DocumentChangeOperation, DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier,
    Position, Range, ResourceOp, TextDocumentEdit, Url, WorkspaceEdit,
};

use super::workspace::Snapshot;
use super::{convert, ClientCaps};
use crate::config::Config;
use crate::diagnostic::{Edit, FixKind};
use crate::graph::RevisionGraph;
use crate::migration::DeclValue;
use crate::position::TextRange;

/// The source action approving every finding of a file. Deliberately not
/// under `source.fixAll`, which editors run on save.
pub const APPROVE_ALL: &str = "source.approveAll.alembic-lsp";

/// The code of the rule whose findings get the merge / re-point actions.
const MULTIPLE_HEADS: &str = "MG201";

pub struct Request<'a> {
    pub snapshot: &'a Snapshot,
    pub file_index: usize,
    pub range: TextRange,
    pub only: Option<&'a [CodeActionKind]>,
    pub caps: &'a ClientCaps,
}

impl Request<'_> {
    fn wants(&self, kind: &CodeActionKind) -> bool {
        self.only.is_none_or(|only| {
            only.iter().any(|o| {
                kind.as_str() == o.as_str()
                    || kind.as_str().starts_with(&format!("{}.", o.as_str()))
            })
        })
    }

    /// A workspace edit of this file, versioned when the client takes `documentChanges`.
    fn edit(&self, edits: &[Edit]) -> WorkspaceEdit {
        let file = &self.snapshot.files[self.file_index];
        let edits: Vec<lsp::TextEdit> = edits
            .iter()
            .map(|e| convert::text_edit(&file.source, e))
            .collect();
        if self.caps.document_changes {
            WorkspaceEdit {
                document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                    text_document: OptionalVersionedTextDocumentIdentifier {
                        uri: file.name.uri.clone(),
                        version: file.version,
                    },
                    edits: edits.into_iter().map(OneOf::Left).collect(),
                }])),
                ..WorkspaceEdit::default()
            }
        } else {
            WorkspaceEdit {
                changes: Some(HashMap::from([(file.name.uri.clone(), edits)])),
                ..WorkspaceEdit::default()
            }
        }
    }
}

pub fn code_actions(request: &Request) -> Vec<CodeAction> {
    let snapshot = request.snapshot;
    let file = &snapshot.files[request.file_index];
    let findings = &snapshot.diagnostics[request.file_index];
    let mut actions = Vec::new();
    if request.wants(&CodeActionKind::QUICKFIX) {
        for d in findings
            .iter()
            .filter(|d| intersects(d.range, request.range))
        {
            let lsp_diagnostic = convert::diagnostic(&file.source, d);
            let rewrites = d
                .fixes
                .iter()
                .filter(|f| f.kind == FixKind::Rewrite)
                .count();
            for fix in &d.fixes {
                actions.push(CodeAction {
                    title: fix.title.clone(),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![lsp_diagnostic.clone()]),
                    edit: Some(request.edit(&fix.edits)),
                    is_preferred: Some(fix.kind == FixKind::Rewrite && rewrites == 1),
                    ..CodeAction::default()
                });
            }
            if d.rule.code == MULTIPLE_HEADS {
                actions.extend(multiple_heads_actions(request, &lsp_diagnostic));
            }
        }
    }
    let approve_all = CodeActionKind::new(APPROVE_ALL);
    if request.wants(&approve_all) {
        let edits = merge_approvals(
            findings
                .iter()
                .flat_map(|d| &d.fixes)
                .filter(|f| f.kind == FixKind::Approve)
                .flat_map(|f| f.edits.iter().cloned()),
        );
        if !edits.is_empty() {
            actions.push(CodeAction {
                title: "Approve all findings in this file".to_owned(),
                kind: Some(approve_all),
                edit: Some(request.edit(&edits)),
                is_preferred: Some(false),
                ..CodeAction::default()
            });
        }
    }
    actions
}

fn intersects(a: TextRange, b: TextRange) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// Merges approval insertions: one edit per insertion point, several tags
/// for the same statement in one comment (`# destructive: approved;
/// type-change: approved`), never the same tag twice.
pub fn merge_approvals(edits: impl Iterator<Item = Edit>) -> Vec<Edit> {
    let mut by_range: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for edit in edits {
        let texts = by_range
            .entry((edit.range.start, edit.range.end))
            .or_default();
        if !texts.contains(&edit.new_text) {
            texts.push(edit.new_text);
        }
    }
    by_range
        .into_iter()
        .map(|((start, end), texts)| Edit {
            range: TextRange::new(start, end),
            new_text: merge_comment_lines(&texts).unwrap_or_else(|| texts.concat()),
        })
        .collect()
}

/// `{indent}# a{newline}` + `{indent}# b -- why{newline}` → `{indent}# a; b -- why{newline}`.
fn merge_comment_lines(texts: &[String]) -> Option<String> {
    if texts.len() == 1 {
        return texts.first().cloned();
    }
    let mut indent = None;
    let mut newline = "";
    let mut tags: Vec<String> = Vec::new();
    let mut reason: Option<&str> = None;
    for text in texts {
        let content = text.trim_end_matches(['\r', '\n']);
        newline = &text[content.len()..];
        let hash = content.find('#')?;
        let (lead, body) = content.split_at(hash);
        if !lead.trim().is_empty() || indent.is_some_and(|i| i != lead) {
            return None;
        }
        indent = Some(lead);
        let body = body.trim_start_matches('#').trim();
        let (tag_part, why) = match body.split_once(" -- ") {
            Some((t, r)) => (t, Some(r.trim())),
            None => (body, None),
        };
        reason = reason.or(why);
        for tag in tag_part.split(';').map(str::trim).filter(|t| !t.is_empty()) {
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
    }
    let reason = reason.map(|r| format!(" -- {r}")).unwrap_or_default();
    Some(format!("{}# {}{reason}{newline}", indent?, tags.join("; ")))
}

/// The heads that count together with `head` against the limit: all of
/// them, or with `branches` configured, those of the same branch group.
fn head_group(graph: &RevisionGraph, config: &Config, head: usize) -> Vec<usize> {
    let heads: Vec<usize> = graph
        .heads
        .iter()
        .copied()
        .filter(|&h| !graph.revisions[h].shadowed)
        .collect();
    if config.branches.is_empty() {
        return heads;
    }
    let labels = |h: usize| -> Vec<&String> {
        config
            .branches
            .iter()
            .filter(|b| graph.revisions[h].branch_labels.contains(*b))
            .collect()
    };
    let mine = labels(head);
    heads
        .into_iter()
        .filter(|&h| {
            let theirs = labels(h);
            if mine.is_empty() {
                theirs.is_empty()
            } else {
                theirs.iter().any(|l| mine.contains(l))
            }
        })
        .collect()
}

fn multiple_heads_actions(request: &Request, diagnostic: &lsp::Diagnostic) -> Vec<CodeAction> {
    let snapshot = request.snapshot;
    let graph = &snapshot.graph;
    let Some(this) = graph.heads.iter().copied().find(|&h| {
        graph.revisions[h].input.file == request.file_index && !graph.revisions[h].shadowed
    }) else {
        return Vec::new();
    };
    let group = head_group(graph, &snapshot.config, this);
    if group.len() < 2 {
        return Vec::new();
    }
    let mut actions = Vec::new();
    if request.caps.create_files {
        if let Some(action) = merge_revision_action(request, &group, diagnostic) {
            actions.push(action);
        }
    }
    for &other in group.iter().filter(|&&h| h != this) {
        if let Some(action) = repoint_action(request, other, diagnostic) {
            actions.push(action);
        }
    }
    actions
}

/// A new revision merging the heads, written as `alembic merge heads` would
/// (the standard template), next to this file.
fn merge_revision_action(
    request: &Request,
    group: &[usize],
    diagnostic: &lsp::Diagnostic,
) -> Option<CodeAction> {
    let snapshot = request.snapshot;
    let graph = &snapshot.graph;
    let mut heads: Vec<&str> = group.iter().map(|&h| graph.revisions[h].id()).collect();
    heads.sort_unstable();
    let dir = snapshot.files[request.file_index].name.path.parent()?;
    let (id, path) = (0..100).find_map(|attempt| {
        let id = new_revision_id(attempt);
        let path = dir.join(format!("{id}_merge_heads.py"));
        (!graph.by_id.contains_key(&id) && !path.exists()).then_some((id, path))
    })?;
    let uri = Url::from_file_path(&path).ok()?;
    let tag = snapshot.config.tag_for("MG102").unwrap_or("empty: allow");
    let reason = if snapshot.config.require_reason {
        " -- merge revision"
    } else {
        ""
    };
    let text = merge_revision_text(&id, &heads, &utc_now(), &format!("{tag}{reason}"));
    let edit = WorkspaceEdit {
        document_changes: Some(DocumentChanges::Operations(vec![
            DocumentChangeOperation::Op(ResourceOp::Create(CreateFile {
                uri: uri.clone(),
                options: Some(CreateFileOptions {
                    overwrite: Some(false),
                    ignore_if_exists: Some(false),
                }),
                annotation_id: None,
            })),
            DocumentChangeOperation::Edit(TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier { uri, version: None },
                edits: vec![OneOf::Left(lsp::TextEdit {
                    range: Range::new(Position::new(0, 0), Position::new(0, 0)),
                    new_text: text,
                })],
            }),
        ])),
        ..WorkspaceEdit::default()
    };
    let names: Vec<String> = heads.iter().map(|h| format!("`{h}`")).collect();
    Some(CodeAction {
        title: format!("Create a merge revision of {}", names.join(", ")),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        edit: Some(edit),
        is_preferred: Some(false),
        ..CodeAction::default()
    })
}

pub fn merge_revision_text(id: &str, heads: &[&str], date: &str, empty_tag: &str) -> String {
    let tuple = heads
        .iter()
        .map(|h| format!("'{h}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#""""merge heads

Revision ID: {id}
Revises: {revises}
Create Date: {date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '{id}'
down_revision: Union[str, Sequence[str], None] = ({tuple})
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # {empty_tag}
    pass


def downgrade() -> None:
    """Downgrade schema."""
    pass
"#,
        revises = heads.join(", "),
    )
}

/// Points this head's `down_revision` at another head (and its header's
/// `Revises:` line with it), making the two heads one line of history.
fn repoint_action(
    request: &Request,
    other: usize,
    diagnostic: &lsp::Diagnostic,
) -> Option<CodeAction> {
    let snapshot = request.snapshot;
    let file = &snapshot.files[request.file_index].source;
    let decl = file.down_revision.as_ref()?;
    let target = snapshot.graph.revisions[other].id();
    let quote = match &decl.value {
        DeclValue::Str(id) => file
            .slice(id.range)
            .chars()
            .find(|c| *c == '"' || *c == '\'')?,
        DeclValue::None => file
            .revision_id()
            .and_then(|id| {
                file.slice(id.range)
                    .chars()
                    .find(|c| *c == '"' || *c == '\'')
            })
            .unwrap_or('\''),
        DeclValue::Seq(_) | DeclValue::Dynamic => return None,
    };
    let mut edits = vec![Edit {
        range: decl.value_range,
        new_text: format!("{quote}{target}{quote}"),
    }];
    if let (Some(range), Some(revises)) = (file.header.revises_range, &file.header.revises) {
        if revises.len() <= 1 {
            edits.push(Edit {
                range,
                new_text: format!("Revises: {target}"),
            });
        }
    }
    edits.sort_by_key(|e| e.range.start);
    Some(CodeAction {
        title: format!("Re-point down_revision onto the other head `{target}`"),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        edit: Some(request.edit(&edits)),
        is_preferred: Some(false),
        ..CodeAction::default()
    })
}

/// A fresh 12-hex-digit id, as Alembic's `uuid4().hex[-12:]`.
fn new_revision_id(attempt: u32) -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(now);
    hasher.write_u32(attempt);
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, like Alembic's `Create Date`.
fn utc_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::MigrationFile;

    fn insert(at: usize, text: &str) -> Edit {
        Edit {
            range: TextRange::empty(at),
            new_text: text.to_owned(),
        }
    }

    #[test]
    fn approvals_merge_per_statement_without_duplicates() {
        let merged = merge_approvals(
            vec![
                insert(10, "    # destructive: approved\n"),
                insert(10, "    # type-change: approved\n"),
                insert(10, "    # destructive: approved\n"),
                insert(40, "    # backfill: ok -- reviewed\n"),
            ]
            .into_iter(),
        );
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merged[0].new_text,
            "    # destructive: approved; type-change: approved\n"
        );
        assert_eq!(merged[1].new_text, "    # backfill: ok -- reviewed\n");
        let with_reason = merge_approvals(
            vec![
                insert(0, "# a: b -- reviewed\r\n"),
                insert(0, "# c: d -- reviewed\r\n"),
            ]
            .into_iter(),
        );
        assert_eq!(with_reason[0].new_text, "# a: b; c: d -- reviewed\r\n");
    }

    #[test]
    fn the_merge_revision_is_a_clean_merge_of_the_heads() {
        let text = merge_revision_text(
            "0123456789ab",
            &["a1", "b2"],
            "2026-01-01 00:00:00.000000",
            "empty: allow",
        );
        let file = MigrationFile::parse(text);
        assert_eq!(file.revision_id().unwrap().value, "0123456789ab");
        let down: Vec<&str> = file
            .down_revision
            .as_ref()
            .unwrap()
            .value
            .ids()
            .unwrap()
            .iter()
            .map(|i| i.value.as_str())
            .collect();
        assert_eq!(down, ["a1", "b2"]);
        assert!(file.syntax_errors.is_empty());
        assert!(file.import_failures.is_empty());
        assert_eq!(file.header.revises.as_ref().unwrap().len(), 2);
        assert!(file.text.contains("    # empty: allow\n    pass"));
    }

    #[test]
    fn ids_and_dates_have_alembic_shapes() {
        let id = new_revision_id(0);
        assert_eq!(id.len(), 12);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        let date = utc_now();
        assert_eq!(date.len(), "2026-01-01 00:00:00.000000".len());
        assert!(date.starts_with("20"));
    }
}

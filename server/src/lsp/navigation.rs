//! Hover, go to definition, references, symbols and completion: everything
//! that reads the revision graph of the latest analysis.

use tower_lsp::lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, DocumentSymbol, Documentation, Hover,
    HoverContents, Location, MarkupContent, MarkupKind, SymbolInformation, SymbolKind, TextEdit,
};

use super::convert;
use super::workspace::Snapshot;
use crate::graph::Revision;
use crate::migration::{DeclValue, Declaration, IdLit, MigrationFile};
use crate::position::TextRange;

/// What an id string under the cursor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdRole {
    Revision,
    DownRevision,
    DependsOn,
    BranchLabel,
    /// `Revision ID:` / `Revises:` in the docstring.
    Header,
}

fn decl_ids(decl: &Option<Declaration>) -> Vec<&IdLit> {
    decl.as_ref()
        .and_then(|d| d.value.ids())
        .unwrap_or_default()
}

/// The id string at `offset`, if any.
pub fn id_at(file: &MigrationFile, offset: usize) -> Option<(IdRole, &IdLit)> {
    let header = file
        .header
        .revision_id
        .iter()
        .chain(file.header.revises.iter().flatten());
    decl_ids(&file.revision)
        .into_iter()
        .map(|i| (IdRole::Revision, i))
        .chain(
            decl_ids(&file.down_revision)
                .into_iter()
                .map(|i| (IdRole::DownRevision, i)),
        )
        .chain(
            decl_ids(&file.depends_on)
                .into_iter()
                .map(|i| (IdRole::DependsOn, i)),
        )
        .chain(
            decl_ids(&file.branch_labels)
                .into_iter()
                .map(|i| (IdRole::BranchLabel, i)),
        )
        .chain(header.map(|i| (IdRole::Header, i)))
        .find(|(_, id)| !id.range.is_empty() && id.range.contains(offset))
}

fn code(id: &str) -> String {
    format!("`{id}`")
}

fn with_message(snapshot: &Snapshot, rev: &Revision) -> String {
    let file = &snapshot.files[rev.input.file];
    match &file.source.header.message {
        Some(m) => format!("{} ({})", code(rev.id()), m),
        None => code(rev.id()),
    }
}

/// Markdown describing a revision: message, file, parents, children, status.
pub fn describe(snapshot: &Snapshot, index: usize) -> String {
    let graph = &snapshot.graph;
    let rev = &graph.revisions[index];
    let file = &snapshot.files[rev.input.file];
    let mut out = format!("**Revision {}**", code(rev.id()));
    if let Some(message) = &file.source.header.message {
        out.push_str(&format!(" — {message}"));
    }
    out.push_str(&format!("\n\nFile: `{}`", file.name.display));
    let list = |items: &[usize]| -> String {
        items
            .iter()
            .map(|&i| with_message(snapshot, &graph.revisions[i]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let parents = if rev.parents.is_empty() {
        match &rev.input.down_revision {
            Some(d) if d.is_empty() => "none (a base)".to_owned(),
            Some(d) => {
                d.iter()
                    .map(|i| code(&i.value))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + " (not in the graph)"
            }
            None => "unknown (not a literal)".to_owned(),
        }
    } else {
        list(&rev.parents)
    };
    out.push_str(&format!("\n\nParents: {parents}"));
    let children = if rev.children.is_empty() {
        "none".to_owned()
    } else {
        list(&rev.children)
    };
    out.push_str(&format!("\n\nChildren: {children}"));
    if !rev.dependencies.is_empty() {
        out.push_str(&format!("\n\nDepends on: {}", list(&rev.dependencies)));
    }
    let mut status = Vec::new();
    if graph.heads.contains(&index) {
        status.push(if graph.heads.len() > 1 {
            format!("head (one of {})", graph.heads.len())
        } else {
            "head".to_owned()
        });
    }
    if rev.is_merge_point() {
        status.push("merge point".to_owned());
    }
    if rev.children.len() > 1 {
        status.push("branch point".to_owned());
    }
    if graph.bases.contains(&index) {
        status.push("base".to_owned());
    }
    if rev.shadowed {
        status.push("shadowed by a later file with the same id".to_owned());
    }
    if !status.is_empty() {
        out.push_str(&format!("\n\nStatus: {}", status.join(", ")));
    }
    if !rev.branch_labels.is_empty() {
        let labels: Vec<String> = rev.branch_labels.iter().map(|l| code(l)).collect();
        out.push_str(&format!("\n\nBranch labels: {}", labels.join(", ")));
    }
    out
}

fn markdown(value: String) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: None,
    }
}

/// Hover: on an id, the revision it names; elsewhere, the explanation of
/// every rule with a finding under the cursor.
pub fn hover(snapshot: &Snapshot, file_index: usize, offset: usize) -> Option<Hover> {
    let file = &snapshot.files[file_index].source;
    if let Some((role, id)) = id_at(file, offset) {
        let target = match role {
            IdRole::Revision | IdRole::BranchLabel => snapshot
                .graph
                .revisions
                .iter()
                .position(|r| r.input.file == file_index && !r.shadowed)
                .or_else(|| snapshot.resolve(&id.value)),
            _ => snapshot.resolve(&id.value),
        };
        let text = match target {
            Some(index) => describe(snapshot, index),
            None => format!(
                "{} is not a revision or branch label in this graph",
                code(&id.value)
            ),
        };
        let mut hover = markdown(text);
        hover.range = Some(convert::range(file, id.range));
        return Some(hover);
    }
    let findings: Vec<_> = snapshot.diagnostics[file_index]
        .iter()
        .filter(|d| d.range.contains(offset))
        .collect();
    if findings.is_empty() {
        return None;
    }
    let mut seen = Vec::new();
    let mut sections = Vec::new();
    for d in &findings {
        if seen.contains(&d.rule.code) {
            continue;
        }
        seen.push(d.rule.code);
        let mut section = format!(
            "### {} {}\n\n{}",
            d.rule.code,
            d.rule.name,
            d.rule.explanation()
        );
        if let Some(tag) = snapshot.config.tag_for(d.rule.code) {
            section.push_str(&format!("\n\nApprove with `# {tag}`."));
        }
        sections.push(section);
    }
    let range = findings.iter().map(|d| d.range).reduce(TextRange::cover)?;
    let mut hover = markdown(sections.join("\n\n---\n\n"));
    hover.range = Some(convert::range(file, range));
    Some(hover)
}

fn location(snapshot: &Snapshot, file: usize, range: TextRange) -> Location {
    let f = &snapshot.files[file];
    Location {
        uri: f.name.uri.clone(),
        range: convert::range(&f.source, range),
    }
}

/// Definition: the `revision` a `down_revision` / `depends_on` / header id names.
pub fn definition(snapshot: &Snapshot, file_index: usize, offset: usize) -> Option<Location> {
    let file = &snapshot.files[file_index].source;
    let (_, id) = id_at(file, offset)?;
    let target = &snapshot.graph.revisions[snapshot.resolve(&id.value)?];
    Some(location(snapshot, target.input.file, target.input.id.range))
}

/// References: every `down_revision` / `depends_on` string naming the
/// revision (its children and dependents), and the declaration if asked.
pub fn references(
    snapshot: &Snapshot,
    file_index: usize,
    offset: usize,
    declaration: bool,
) -> Vec<Location> {
    let file = &snapshot.files[file_index].source;
    let Some((_, id)) = id_at(file, offset) else {
        return Vec::new();
    };
    let Some(index) = snapshot.resolve(&id.value) else {
        return Vec::new();
    };
    let rev = &snapshot.graph.revisions[index];
    let names: Vec<&str> = std::iter::once(rev.id())
        .chain(
            rev.input
                .branch_labels
                .iter()
                .flatten()
                .map(|l| l.value.as_str()),
        )
        .collect();
    let mut out = Vec::new();
    if declaration {
        out.push(location(snapshot, rev.input.file, rev.input.id.range));
    }
    for other in &snapshot.graph.revisions {
        let named = other
            .input
            .down_revision
            .iter()
            .flatten()
            .chain(other.input.depends_on.iter().flatten())
            .filter(|i| names.contains(&i.value.as_str()));
        for i in named {
            out.push(location(snapshot, other.input.file, i.range));
        }
    }
    out
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be spelled out.
fn symbol(
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    file: &MigrationFile,
    range: TextRange,
    selection: TextRange,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: convert::range(file, range),
        selection_range: convert::range(file, selection),
        children: (!children.is_empty()).then_some(children),
    }
}

fn describe_value(file: &MigrationFile, decl: &Declaration) -> String {
    match &decl.value {
        DeclValue::None => "None".to_owned(),
        DeclValue::Str(i) => i.value.clone(),
        DeclValue::Seq(ids) => ids
            .iter()
            .map(|i| i.value.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        DeclValue::Dynamic => file.slice(decl.value_range).to_owned(),
    }
}

/// The revision variables, and each `upgrade` / `downgrade` with its operations.
pub fn document_symbols(file: &MigrationFile) -> Vec<DocumentSymbol> {
    let mut out = Vec::new();
    let variables = [
        ("revision", &file.revision),
        ("down_revision", &file.down_revision),
        ("branch_labels", &file.branch_labels),
        ("depends_on", &file.depends_on),
    ];
    for (name, decl) in variables {
        let Some(decl) = decl else { continue };
        let mut detail = describe_value(file, decl);
        if name == "revision" {
            if let Some(message) = &file.header.message {
                detail = format!("{detail} — {message}");
            }
        }
        out.push(symbol(
            name.to_owned(),
            Some(detail),
            SymbolKind::CONSTANT,
            file,
            decl.statement_range,
            decl.value_range,
            Vec::new(),
        ));
    }
    for (index, function) in file.functions.iter().enumerate() {
        let ops = file
            .ops
            .iter()
            .filter(|op| op.function == index)
            .map(|op| {
                symbol(
                    op.display_name(),
                    op.table().map(str::to_owned),
                    SymbolKind::METHOD,
                    file,
                    op.statement_range,
                    op.method_range,
                    Vec::new(),
                )
            })
            .collect();
        out.push(symbol(
            function.name.clone(),
            None,
            SymbolKind::FUNCTION,
            file,
            function.def_range,
            function.name_range,
            ops,
        ));
    }
    out
}

/// Revisions whose id or message contains the query (case-insensitive).
#[allow(deprecated)] // `SymbolInformation::deprecated` must be spelled out.
pub fn workspace_symbols(
    snapshots: &[std::sync::Arc<Snapshot>],
    query: &str,
    limit: usize,
) -> Vec<SymbolInformation> {
    let query = query.to_lowercase();
    let mut out = Vec::new();
    for snapshot in snapshots {
        for rev in &snapshot.graph.revisions {
            let file = &snapshot.files[rev.input.file];
            let message = file.source.header.message.as_deref().unwrap_or("");
            let matches = query.is_empty()
                || rev.id().to_lowercase().contains(&query)
                || message.to_lowercase().contains(&query);
            if !matches {
                continue;
            }
            let name = if message.is_empty() {
                rev.id().to_owned()
            } else {
                format!("{} {message}", rev.id())
            };
            out.push(SymbolInformation {
                name,
                kind: SymbolKind::CONSTANT,
                tags: None,
                deprecated: None,
                location: location(snapshot, rev.input.file, rev.input.id.range),
                container_name: Some(file.name.display.clone()),
            });
            if out.len() >= limit {
                return out;
            }
        }
    }
    out
}

/// Completion inside a `down_revision` value: the current heads (but the
/// file's own revision), newest-looking first by load order.
pub fn complete_down_revision(
    snapshot: &Snapshot,
    file_index: usize,
    offset: usize,
) -> Vec<CompletionItem> {
    let file = &snapshot.files[file_index].source;
    let Some(context) = down_revision_context(file, offset) else {
        return Vec::new();
    };
    let own = file.revision_id().map(|i| i.value.as_str());
    let quote = file
        .revision_id()
        .and_then(|i| {
            file.slice(i.range)
                .chars()
                .find(|c| *c == '"' || *c == '\'')
        })
        .unwrap_or('"');
    let graph = &snapshot.graph;
    let mut heads: Vec<usize> = graph
        .heads
        .iter()
        .copied()
        .filter(|&h| Some(graph.revisions[h].id()) != own && !graph.revisions[h].shadowed)
        .collect();
    heads.reverse();
    heads
        .into_iter()
        .enumerate()
        .map(|(rank, h)| {
            let rev = &graph.revisions[h];
            let target = &snapshot.files[rev.input.file];
            let new_text = if context.in_string {
                rev.id().to_owned()
            } else {
                format!("{quote}{}{quote}", rev.id())
            };
            CompletionItem {
                label: rev.id().to_owned(),
                kind: Some(CompletionItemKind::VALUE),
                detail: target
                    .source
                    .header
                    .message
                    .clone()
                    .map(|m| format!("head — {m}")),
                documentation: Some(Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: describe(snapshot, h),
                })),
                sort_text: Some(format!("{rank:05}")),
                filter_text: Some(rev.id().to_owned()),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                    range: convert::range(file, TextRange::new(context.word_start, offset)),
                    new_text,
                })),
                ..CompletionItem::default()
            }
        })
        .collect()
}

struct CompletionContext {
    in_string: bool,
    /// Where the partly typed id starts.
    word_start: usize,
}

/// Whether `offset` is in the value of a `down_revision` assignment: on
/// its line after `=`, or inside its (multi-line) value.
fn down_revision_context(file: &MigrationFile, offset: usize) -> Option<CompletionContext> {
    let text = &file.text;
    let offset = crate::position::floor_char_boundary(text, offset);
    let line = file.line_index.line_of(offset);
    let line_start = file.line_index.line_start(line);
    let before = &text[line_start..offset];
    let value_start = match before.trim_start().strip_prefix("down_revision") {
        Some(rest) if rest.starts_with([' ', '=', ':', '\t']) => {
            let eq = before.find('=')?;
            line_start + eq + 1
        }
        _ => {
            let decl = file.down_revision.as_ref()?;
            if !(decl.value_range.start <= offset && offset <= decl.value_range.end) {
                return None;
            }
            decl.value_range.start
        }
    };
    let value = &text[value_start..offset];
    let quotes = value.chars().filter(|c| *c == '"' || *c == '\'').count();
    let word_start = offset
        - value
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .map(char::len_utf8)
            .sum::<usize>();
    Some(CompletionContext {
        in_string: quotes % 2 == 1,
        word_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_by_role() {
        let file = MigrationFile::parse(
            "\"\"\"m\n\nRevises: a1\n\"\"\"\nrevision = 'b2'\ndown_revision = ('a1', 'x')\ndepends_on = 'c3'\n".into(),
        );
        let at = |needle: &str| file.text.find(needle).unwrap() + 1;
        assert_eq!(id_at(&file, at("'b2'")).unwrap().0, IdRole::Revision);
        assert_eq!(id_at(&file, at("'x'")).unwrap().1.value, "x");
        assert_eq!(id_at(&file, at("'c3'")).unwrap().0, IdRole::DependsOn);
        assert_eq!(id_at(&file, at("a1\n")).unwrap().0, IdRole::Header);
        assert!(id_at(&file, at("revision =")).is_none());
    }

    #[test]
    fn completion_context_in_and_out_of_strings() {
        let file = MigrationFile::parse("revision = 'b'\ndown_revision = 'a\n".into());
        let end = file.text.len() - 1;
        let c = down_revision_context(&file, end).unwrap();
        assert!(c.in_string);
        assert_eq!(&file.text[c.word_start..end], "a");
        let file = MigrationFile::parse("down_revision = \n".into());
        let c = down_revision_context(&file, file.text.len() - 1).unwrap();
        assert!(!c.in_string);
        let file = MigrationFile::parse("revision = 'b'\n".into());
        assert!(down_revision_context(&file, 5).is_none());
    }
}

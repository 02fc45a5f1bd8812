//! Approval tags: comments such as `# destructive: approved` that approve one
//! finding of a tag rule (MG101–MG104) where they stand, and the governance
//! of tags — near-misses (MG105) and tags that approve nothing (MG106).
//!
//! A tag counts as a trailing comment on any line the flagged statement
//! spans, or in the block of comment-only lines directly above it; for MG102,
//! anywhere in the body of `upgrade()` or directly above its `def`. Spaces
//! inside a tag are free, several tags may share a comment (`;` or `,`
//! between them), and text after ` -- ` is the reason.

use crate::diagnostic::{Diagnostic, Edit, Fix, FixKind};
use crate::migration::MigrationFile;
use crate::position::TextRange;
use crate::rules::{FileContext, ALL};

declare_rule! {
    /// ## What it does
    /// Flags a comment that is almost an approval tag: a known key with a
    /// wrong value (`# destructive: approve`), a misspelt key
    /// (`# destructve: approved`), the wrong case (`# Destructive: Approved`),
    /// or, when `require-reason` is on, a tag without a reason.
    ///
    /// ## Why is this bad?
    /// The author meant to approve the operation, and a reviewer reading the
    /// comment believes it is approved, but the tool does not: the approval
    /// silently does not exist.
    ///
    /// ## Example
    /// ```python
    /// op.drop_table("legacy")  # destructive: approve
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// op.drop_table("legacy")  # destructive: approved
    /// ```
    pub static MALFORMED_TAG = {
        code: "MG105",
        name: "malformed-tag",
        severity: Warning,
        tag: None,
        summary: "a comment that is almost an approval tag",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags an approval tag that approves nothing where it stands: no
    /// finding of its rule is on its statement (or, for `# empty: allow`,
    /// `upgrade()` is not empty).
    ///
    /// ## Why is this bad?
    /// Stale and copied approvals are how an approval policy erodes: a tag
    /// left behind after the operation moved, or pasted with a template,
    /// would silently approve whatever lands next to it later.
    ///
    /// ## Example
    /// ```python
    /// # destructive: approved
    /// op.add_column("users", sa.Column("age", sa.Integer()))
    /// ```
    ///
    /// Remove the tag, or move it to the statement it approves. The fix removes it: the
    /// whole comment when it is the only tag, else that tag and its separator, keeping
    /// the other tags and the reason.
    pub static UNUSED_TAG = {
        code: "MG106",
        name: "unused-tag",
        severity: Warning,
        tag: None,
        summary: "an approval tag that approves nothing where it stands",
    };
}

/// `key: value` of a tag text, without spaces.
pub fn parse_tag_text(text: &str) -> Option<(String, String)> {
    let (key, value) = text.split_once(':')?;
    let (key, value) = (key.trim(), value.trim());
    let word = |w: &str| {
        !w.is_empty()
            && w.chars().next().is_some_and(|c| c.is_alphabetic())
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    };
    (word(key) && word(value)).then(|| (key.to_owned(), value.to_owned()))
}

/// One `key: value` in a comment.
#[derive(Clone, Debug)]
struct TagItem {
    key: String,
    value: String,
    range: TextRange,
}

#[derive(Clone, Debug)]
struct TagComment {
    line: usize,
    items: Vec<TagItem>,
    has_reason: bool,
    used: Vec<bool>,
}

fn parse_comment(file: &MigrationFile, range: TextRange, text: &str) -> Option<TagComment> {
    let body_start = text.find(|c: char| c != '#')?;
    let body = &text[body_start..];
    let (tags_part, has_reason) = match body.find("--") {
        Some(i) => (&body[..i], !body[i + 2..].trim().is_empty()),
        None => (body, false),
    };
    let mut items = Vec::new();
    let mut offset = range.start + body_start;
    for piece in tags_part.split([';', ',']) {
        if let Some((key, value)) = parse_tag_text(piece) {
            let lead = piece.len() - piece.trim_start().len();
            let start = offset + lead;
            items.push(TagItem {
                key,
                value,
                range: TextRange::new(start, start + piece.trim().len()),
            });
        }
        offset += piece.len() + 1;
    }
    if items.is_empty() {
        return None;
    }
    Some(TagComment {
        line: file.line_index.line_of(range.start),
        used: vec![false; items.len()],
        items,
        has_reason,
    })
}

/// Lines where tags for a statement count: the lines it spans and the
/// comment-only lines directly above.
fn statement_lines(file: &MigrationFile, statement: TextRange) -> (usize, usize) {
    let first = file.line_index.line_of(statement.start);
    let last = file
        .line_index
        .line_of(statement.end.saturating_sub(1).max(statement.start));
    let mut top = first;
    while top > 0 && file.line_text(top - 1).trim_start().starts_with('#') {
        top -= 1;
    }
    (top, last)
}

/// Lines where `# empty: allow` counts: the comment block above the `def`
/// (decorators included), the `def` line and every indented or blank line of
/// its body.
fn function_lines(file: &MigrationFile, def: TextRange) -> (usize, usize) {
    let (top, mut last) = statement_lines(file, TextRange::new(def.start, def.start + 1));
    let count = file.line_index.line_count();
    let mut line = last + 1;
    while line < count {
        let text = file.line_text(line);
        if !text.trim().is_empty() && !text.starts_with([' ', '\t']) {
            break;
        }
        if !text.trim().is_empty() {
            last = line;
        }
        line += 1;
    }
    (
        top,
        last.max(file.line_index.line_of(def.end.saturating_sub(1))),
    )
}

/// Removes approved findings, adds the approval fix to the others, and
/// reports MG105 / MG106.
pub fn resolve_approvals(ctx: &FileContext, out: &mut Vec<Diagnostic>) {
    let file = ctx.file;
    let mut comments: Vec<TagComment> = file
        .comments
        .iter()
        .filter_map(|c| parse_comment(file, c.range, &c.text))
        .collect();
    let known: Vec<(&'static str, String, String)> = ALL
        .iter()
        .filter(|r| r.tag.is_some())
        .filter_map(|r| {
            let text = ctx.config.tag_for(r.code)?;
            let (k, v) = parse_tag_text(text)?;
            Some((r.code, k, v))
        })
        .collect();

    let mut kept = Vec::with_capacity(out.len());
    for mut d in out.drain(..) {
        let (Some(anchor), Some(tag_text)) = (d.anchor, ctx.config.tag_for(d.rule.code)) else {
            kept.push(d);
            continue;
        };
        let Some((key, value)) = parse_tag_text(tag_text) else {
            kept.push(d);
            continue;
        };
        let (top, last) = if anchor.whole_body {
            function_lines(file, anchor.range)
        } else {
            statement_lines(file, anchor.range)
        };
        let mut approved = false;
        for c in comments
            .iter_mut()
            .filter(|c| c.line >= top && c.line <= last)
        {
            for (i, item) in c.items.iter().enumerate() {
                if item.key == key && item.value == value {
                    c.used[i] = true;
                    approved |= c.has_reason || !ctx.config.require_reason;
                }
            }
        }
        if approved {
            continue;
        }
        d.fixes.insert(
            0,
            approval_fix(file, anchor.range, tag_text, ctx.config.require_reason),
        );
        kept.push(d);
    }
    *out = kept;

    for c in &comments {
        for (i, item) in c.items.iter().enumerate() {
            let exact = known
                .iter()
                .find(|(_, k, v)| *k == item.key && *v == item.value);
            if let Some((code, _, _)) = exact {
                if ctx.config.require_reason && !c.has_reason {
                    out.push(Diagnostic::new(
                        &MALFORMED_TAG,
                        item.range,
                        format!(
                            "`{}: {}` needs a reason: `# {}: {} -- why`",
                            item.key, item.value, item.key, item.value
                        ),
                    ));
                } else if !c.used[i]
                    && ctx
                        .config
                        .severity_of(crate::rules::by_code(code).expect("known"))
                        .is_some()
                {
                    out.push(unused(file, i, c));
                }
                continue;
            }
            if let Some(message) = near_miss(item, &known) {
                out.push(Diagnostic::new(&MALFORMED_TAG, item.range, message));
            }
        }
    }
}

fn unused(file: &MigrationFile, index: usize, comment: &TagComment) -> Diagnostic {
    let item = &comment.items[index];
    let message = format!(
        "`{}: {}` approves nothing here: no finding it covers is on this statement",
        item.key, item.value
    );
    let mut d = Diagnostic::new(&UNUSED_TAG, item.range, message);
    let fix = |edit: Edit| Fix {
        title: format!("Remove the unused tag `{}: {}`", item.key, item.value),
        kind: FixKind::Rewrite,
        edits: vec![edit],
    };
    if comment.items.len() > 1 {
        // One of several: the tag and the separator after it (before it,
        // for the last), so the others and any reason stay as written.
        let blank = [' ', '\t'];
        let range = if index + 1 < comment.items.len() {
            let rest = &file.text[item.range.end..];
            let separator = rest.trim_start_matches(blank);
            separator.starts_with([';', ',']).then(|| {
                let next = separator[1..].trim_start_matches(blank);
                TextRange::new(item.range.start, file.text.len() - next.len())
            })
        } else {
            let before = file.text[..item.range.start].trim_end_matches(blank);
            before.ends_with([';', ',']).then(|| {
                let kept = before[..before.len() - 1].trim_end_matches(blank);
                TextRange::new(kept.len(), item.range.end)
            })
        };
        if let Some(range) = range {
            d = d.with_fix(fix(Edit {
                range,
                new_text: String::new(),
            }));
        }
        return d;
    }
    // The only tag of the comment: the whole comment line, or the comment.
    let line = file.line_index.line_range(&file.text, comment.line);
    let text = file.slice(line);
    let edit = if text.trim_start().starts_with('#') {
        let next = file.line_index.line_start(comment.line + 1);
        Edit {
            range: TextRange::new(line.start, next),
            new_text: String::new(),
        }
    } else {
        let hash = file.text[line.start..item.range.start]
            .rfind('#')
            .map(|i| line.start + i);
        let start = hash.unwrap_or(item.range.start);
        let code_end = file.text[line.start..start].trim_end().len() + line.start;
        Edit {
            range: TextRange::new(code_end, line.end),
            new_text: String::new(),
        }
    };
    d.with_fix(fix(edit))
}

fn near_miss(item: &TagItem, known: &[(&'static str, String, String)]) -> Option<String> {
    for (_, k, v) in known {
        let canonical = format!("{k}: {v}");
        let key_lower = item.key.to_lowercase();
        let value_lower = item.value.to_lowercase();
        let key_close = key_lower == *k || (k.len() > 4 && levenshtein(&key_lower, k) <= 2);
        let value_close = value_lower == *v || levenshtein(&value_lower, v) <= 2;
        if item.key == *k && item.value != *v {
            return Some(format!(
                "`{}: {}` is not an approval tag; did you mean `{canonical}`?",
                item.key, item.value
            ));
        }
        if key_close && value_close {
            let why = if key_lower == *k && value_lower == *v {
                "wrong case"
            } else {
                "misspelt"
            };
            return Some(format!(
                "`{}: {}` is not an approval tag ({why}); did you mean `{canonical}`?",
                item.key, item.value
            ));
        }
    }
    None
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Inserts `# <tag>` on its own line above the statement, with the
/// statement's indentation and the file's line ending.
pub fn approval_fix(
    file: &MigrationFile,
    statement: TextRange,
    tag: &str,
    require_reason: bool,
) -> Fix {
    let line = file.line_index.line_of(statement.start);
    let start = file.line_index.line_start(line);
    let indent = file.indentation_at(statement.start);
    let newline = if file.text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let reason = if require_reason { " -- reviewed" } else { "" };
    Fix {
        title: format!("Approve: insert `# {tag}`"),
        kind: FixKind::Approve,
        edits: vec![Edit {
            range: TextRange::empty(start),
            new_text: format!("{indent}# {tag}{reason}{newline}"),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_text_is_key_and_value() {
        assert_eq!(
            parse_tag_text(" destructive :approved "),
            Some(("destructive".into(), "approved".into()))
        );
        assert_eq!(parse_tag_text("TODO: fix this later"), None);
        assert_eq!(levenshtein("destructve", "destructive"), 1);
    }
}

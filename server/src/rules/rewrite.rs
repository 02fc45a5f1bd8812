//! The safe rewrites the lock rules offer: add a keyword argument, wrap a
//! statement in `with op.get_context().autocommit_block():`, insert a word
//! into SQL, call the configured concurrent-index helper. Each returns `None`
//! when the source is laid out in a way it cannot rewrite without risk; a
//! finding then simply has no rewrite.

use crate::diagnostic::{Edit, Fix, FixKind};
use crate::migration::{Expr, MigrationFile, OpCall, Receiver};
use crate::position::TextRange;

pub fn fix(title: impl Into<String>, edits: Vec<Edit>) -> Fix {
    Fix {
        title: title.into(),
        kind: FixKind::Rewrite,
        edits,
    }
}

/// Sets `name=True` on the call: replaces an existing value, or appends the
/// argument after the last one.
pub fn set_true(op: &OpCall, name: &str) -> Option<Edit> {
    if let Some(value) = op.kwarg(name) {
        return Some(Edit {
            range: value.range(),
            new_text: "True".into(),
        });
    }
    let call = &op.call;
    let last_end = call
        .args
        .iter()
        .map(Expr::range)
        .chain(call.kwargs.iter().map(|(_, v)| v.range()))
        .map(|r| r.end)
        .max();
    Some(match last_end {
        Some(end) => Edit {
            range: TextRange::empty(end),
            new_text: format!(", {name}=True"),
        },
        None => Edit {
            range: TextRange::empty(op.arguments_range.start + 1),
            new_text: format!("{name}=True"),
        },
    })
}

/// Inserts `text` at a source offset (inside a SQL string).
pub fn insert(at: usize, text: &str) -> Edit {
    Edit {
        range: TextRange::empty(at),
        new_text: text.to_owned(),
    }
}

/// Wraps the statement of `op` (and the comment block right above it, so its
/// approval tags stay attached) in `with op.get_context().autocommit_block():`,
/// indenting its lines one level. Lines that start inside a string literal
/// keep their text. `None` when the statement shares a line with other code,
/// or when `op` is a batch operation (those run when the batch block ends,
/// so an inner autocommit block would not hold them).
pub fn wrap_in_autocommit(file: &MigrationFile, op: &OpCall) -> Option<Vec<Edit>> {
    if matches!(op.receiver, Receiver::Batch { .. }) {
        return None;
    }
    let statement = op.statement_range;
    let first = file.line_index.line_of(statement.start);
    let last = file.line_index.line_of(statement.end);
    let first_start = file.line_index.line_start(first);
    if !file.text[first_start..statement.start].trim().is_empty() {
        return None;
    }
    let last_range = file.line_index.line_range(&file.text, last);
    let after = file.text[statement.end..last_range.end.max(statement.end)].trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    let mut top = first;
    while top > 0 && file.line_text(top - 1).trim_start().starts_with('#') {
        top -= 1;
    }
    let indent = file.indentation_at(statement.start);
    let unit = if indent.contains('\t') { "\t" } else { "    " };
    let newline = if file.text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let receiver = file.slice(TextRange::new(op.call.range.start, op.method_range.start));
    let op_name = receiver.trim_end_matches('.').trim();
    let op_name = if op_name.is_empty() { "op" } else { op_name };
    let strings = string_ranges(op);
    let mut edits = vec![Edit {
        range: TextRange::empty(file.line_index.line_start(top)),
        new_text: format!(
            "{indent}with {op_name}.get_context().autocommit_block():{newline}{unit}"
        ),
    }];
    for line in top + 1..=last {
        let start = file.line_index.line_start(line);
        let in_string = strings.iter().any(|r| r.start < start && start < r.end);
        if !in_string && !file.line_text(line).trim().is_empty() {
            edits.push(insert(start, unit));
        }
    }
    Some(edits)
}

fn string_ranges(op: &OpCall) -> Vec<TextRange> {
    fn walk(expr: &Expr, out: &mut Vec<TextRange>) {
        match expr {
            Expr::Str(s) => out.push(s.range),
            Expr::Call(c) => {
                c.args.iter().for_each(|a| walk(a, out));
                c.kwargs.iter().for_each(|(_, v)| walk(v, out));
            }
            Expr::Seq(items, _) => items.iter().for_each(|a| walk(a, out)),
            // Not modelled (too deep, or an expression the model keeps
            // opaque): it may hold a string, so leave its lines alone.
            Expr::Other(r) => out.push(*r),
            _ => {}
        }
    }
    let mut out = Vec::new();
    op.call.args.iter().for_each(|a| walk(a, &mut out));
    op.call.kwargs.iter().for_each(|(_, v)| walk(v, &mut out));
    out
}

/// Replaces `op.create_index` with a call of the configured helper, and
/// imports it when the file does not yet.
pub fn call_helper(file: &MigrationFile, op: &OpCall, helper: &str) -> Option<Fix> {
    if op.receiver != Receiver::Op {
        return None;
    }
    let imported = file
        .imports
        .iter()
        .find(|(_, full)| full.as_str() == helper)
        .map(|(local, _)| local.clone());
    let mut edits = Vec::new();
    let local = match imported {
        Some(local) => local,
        None => {
            let (module, name) = helper.rsplit_once('.')?;
            if file.imports.contains_key(name) {
                // The name is taken by another import.
                return None;
            }
            let line = file.line_index.line_of(file.imports_end?);
            let newline = if file.text.contains("\r\n") {
                "\r\n"
            } else {
                "\n"
            };
            edits.push(insert(
                file.line_index.line_start(line + 1),
                &format!("from {module} import {name}{newline}"),
            ));
            name.to_owned()
        }
    };
    edits.push(Edit {
        range: TextRange::new(op.call.range.start, op.method_range.end),
        new_text: local.clone(),
    });
    Some(fix(
        format!("Call the concurrent-index helper `{local}`"),
        edits,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, mut edits: Vec<Edit>) -> String {
        edits.sort_by_key(|e| std::cmp::Reverse(e.range.start));
        let mut text = text.to_owned();
        for e in edits {
            text.replace_range(e.range.start..e.range.end, &e.new_text);
        }
        text
    }

    fn wrapped(source: &str) -> Option<String> {
        let file = MigrationFile::parse(source.to_owned());
        let op = file.ops.iter().find(|o| o.method == "execute")?;
        wrap_in_autocommit(&file, op).map(|edits| apply(source, edits))
    }

    #[test]
    fn wrapping_moves_the_comments_above_and_keeps_strings() {
        let source = "from alembic import op\n\ndef upgrade():\n    # destructive: approved\n    op.execute(\"\"\"\nDROP INDEX ix\n\"\"\")  # why\n";
        assert_eq!(
            wrapped(source).unwrap(),
            "from alembic import op\n\ndef upgrade():\n    with op.get_context().autocommit_block():\n        # destructive: approved\n        op.execute(\"\"\"\nDROP INDEX ix\n\"\"\")  # why\n"
        );
    }

    #[test]
    fn no_wrap_for_shared_lines_or_batch_operations() {
        assert_eq!(wrapped("from alembic import op\n\ndef upgrade():\n    x = 1; op.execute(\"DROP INDEX ix\")\n"), None);
        assert_eq!(wrapped("from alembic import op\n\ndef upgrade():\n    op.execute(\"DROP INDEX ix\"); x = 1\n"), None);
        assert_eq!(
            wrapped("from alembic import op\n\ndef upgrade():\n    with op.batch_alter_table(\"t\") as b:\n        b.execute(\"DROP INDEX ix\")\n"),
            None
        );
    }

    #[test]
    fn keyword_argument_is_added_or_set() {
        let source = "from alembic import op\n\ndef upgrade():\n    op.create_index(\"ix\", \"t\", [\"a\"],)\n    op.drop_index(\"ix\", postgresql_concurrently=False)\n";
        let file = MigrationFile::parse(source.to_owned());
        let edits: Vec<Edit> = file
            .ops
            .iter()
            .filter_map(|op| set_true(op, "postgresql_concurrently"))
            .collect();
        assert_eq!(
            apply(source, edits),
            "from alembic import op\n\ndef upgrade():\n    op.create_index(\"ix\", \"t\", [\"a\"], postgresql_concurrently=True,)\n    op.drop_index(\"ix\", postgresql_concurrently=True)\n"
        );
    }
}

//! A random sequence of edits applied incrementally (`Tree::edit` + reparse
//! with the old tree) gives the same tree and the same model as parsing the
//! final text from scratch, also through the editor's path (models reused
//! version to version, broken versions recovered incrementally, and every
//! version also speculated without parsing its real text: the same model
//! whenever that text has a syntax error).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tree_sitter::{InputEdit, Point};

use alembic_lsp::migration::{MigrationFile, Speculation};
use alembic_lsp::syntax;

fn point(text: &str, offset: usize) -> Point {
    let before = &text[..offset];
    let row = before.matches('\n').count();
    let column = offset - before.rfind('\n').map_or(0, |i| i + 1);
    Point { row, column }
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fuzz_target!(|data: &[u8]| {
    // The first part is the starting text, the rest a list of edits
    // (start, length, inserted text) separated by 0xFF.
    let mut parts = data.split(|&b| b == 0xFF);
    let Some(first) = parts.next() else { return };
    let mut text = String::from_utf8_lossy(first).into_owned();
    let mut tree = syntax::parse(&text, None);
    // The editor's path: each version's model reuses the last one's, and a
    // broken version's text without its open statements is reparsed from the
    // last such text (or the last version that parsed).
    let mut recovery = None;
    let mut model =
        MigrationFile::from_tree_recovering(text.clone(), &tree, None, Some(&mut recovery));
    for part in parts {
        if part.len() < 2 {
            continue;
        }
        let start = boundary(&text, part[0] as usize * text.len() / 255);
        let old_end = boundary(&text, start + part[1] as usize % 16).max(start);
        let inserted = String::from_utf8_lossy(&part[2..]).into_owned();
        let new_end = start + inserted.len();
        let edit = InputEdit {
            start_byte: start,
            old_end_byte: old_end,
            new_end_byte: new_end,
            start_position: point(&text, start),
            old_end_position: point(&text, old_end),
            new_end_position: {
                let mut t = text[..start].to_owned();
                t.push_str(&inserted);
                point(&t, new_end)
            },
        };
        text.replace_range(start..old_end, &inserted);
        tree.edit(&edit);
        let speculated = MigrationFile::speculated(&text, &model, recovery.as_ref(), &|_| true);
        tree = syntax::parse(&text, Some(&tree));
        model = MigrationFile::from_tree_recovering(
            text.clone(),
            &tree,
            Some(&model),
            Some(&mut recovery),
        );
        match speculated {
            Speculation::Modelled(guess, _) if tree.root_node().has_error() => {
                assert_eq!(guess.ops, model.ops, "a speculated model differs");
                assert_eq!(guess.open_statements, model.open_statements);
                assert_eq!(guess.syntax_errors, model.syntax_errors);
                assert_eq!(guess.comments, model.comments);
                assert_eq!(format!("{:?}", guess.revision), format!("{:?}", model.revision));
            }
            // The editor then skips recovery: so must the full path.
            Speculation::Unrecoverable => assert!(model.open_statements.is_empty()),
            _ => {}
        }
    }
    let fresh = syntax::parse(&text, None);
    assert_eq!(
        tree.root_node().to_sexp(),
        fresh.root_node().to_sexp(),
        "incremental and fresh trees differ"
    );
    let a = MigrationFile::from_tree(text.clone(), &tree);
    let b = MigrationFile::from_tree(text, &fresh);
    assert_eq!(format!("{:?}", a.revision), format!("{:?}", b.revision));
    assert_eq!(a.ops, b.ops);
    assert_eq!(model.ops, b.ops, "the editor's model differs");
    assert_eq!(model.open_statements, b.open_statements);
    assert_eq!(model.syntax_errors, b.syntax_errors);
    assert_eq!(format!("{:?}", model.revision), format!("{:?}", b.revision));
});

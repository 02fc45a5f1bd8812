//! Helpers for incremental reparsing: the edit between two versions of a
//! text, and a test for the lines that leave a string literal open.
//!
//! Why the second: tree-sitter-python's external scanner keeps a stack of
//! open string delimiters in the state it saves with each token it produces.
//! While a string is unterminated (`op.add_column("even`), the delimiter
//! stays on that stack for every later token of the file, so no token after
//! the quote matches the tree from before the quote, and the keystroke that
//! closes the string cannot reuse anything of the tree it follows: it costs a
//! full parse (~10 ms for a 1,000-line migration). Reparsing from the last
//! version whose line had no open string instead reuses the rest of the file
//! (~2 ms). The tree is the same either way (tree-sitter's incremental parse
//! equals a fresh one); only the time differs.

use tree_sitter::{InputEdit, Point, Tree};

/// `tree`, a tree of `old`, edited to be the base of a parse of `new`.
pub fn rebased(tree: &Tree, old: &str, new: &str) -> Tree {
    let mut tree = tree.clone();
    tree.edit(&diff_edit(old, new));
    tree
}

/// The edit that turns `old` into `new`: their common prefix and suffix are
/// kept, the middle is replaced. Both ends are cut back to character
/// boundaries, so the edit never splits a UTF-8 sequence.
pub fn diff_edit(old: &str, new: &str) -> InputEdit {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let mut prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    while !(old.is_char_boundary(prefix) && new.is_char_boundary(prefix)) {
        prefix -= 1;
    }
    // The parser read a lone `\r` as `\n` (`syntax::parse`): whether it is
    // lone depends on the byte after it, so a `\r` just before the change
    // is part of it.
    if prefix > 0 && a[prefix - 1] == b'\r' {
        prefix -= 1;
    }
    let room = a.len().min(b.len()) - prefix;
    let mut suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    while !(old.is_char_boundary(a.len() - suffix) && new.is_char_boundary(b.len() - suffix)) {
        suffix -= 1;
    }
    let (old_end, new_end) = (a.len() - suffix, b.len() - suffix);
    InputEdit {
        start_byte: prefix,
        old_end_byte: old_end,
        new_end_byte: new_end,
        start_position: point(a, prefix),
        old_end_position: point(a, old_end),
        new_end_position: point(b, new_end),
    }
}

/// Tree-sitter's point of a byte offset: rows at `\n`, columns in bytes
/// (rows are off after a lone `\r`; only byte offsets are read from trees).
fn point(text: &[u8], byte: usize) -> Point {
    let before = &text[..byte];
    let row = memchr::memchr_iter(b'\n', before).count();
    let column = byte - memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    Point::new(row, column)
}

/// Whether a line of Python leaves a string literal open at its end (an
/// unterminated quote, or a triple-quoted string that goes on). A `#` outside
/// strings ends the line; a backslash escapes the next character, also in
/// raw strings (where it still keeps a quote from ending the literal).
///
/// A heuristic for choosing the tree to reparse from, read on one line
/// without context: a line inside a triple-quoted string reads as code.
/// Getting it wrong costs time, never correctness.
pub fn leaves_string_open(line: &str) -> bool {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let quote = b[i];
        if quote == b'#' {
            return false;
        }
        if quote != b'\'' && quote != b'"' {
            i += 1;
            continue;
        }
        let triple = b[i..].starts_with(&[quote; 3]);
        let width = if triple { 3 } else { 1 };
        i += width;
        loop {
            match b.get(i) {
                None => return true,
                Some(b'\\') => i += 2,
                Some(&c) if c == quote && (!triple || b[i..].starts_with(&[quote; 3])) => {
                    i += width;
                    break;
                }
                Some(_) => i += 1,
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_strings_on_a_line() {
        for open in [
            "    op.add_column(\"events",
            "    op.add_column('",
            "x = \"a\" + 'b",
            "x = '''doc",
            "x = \"\"\"a\"\" b",
            "x = 'it\\'s",
            "x = r\"\\\"",
            "x = f\"{a}",
        ] {
            assert!(leaves_string_open(open), "{open}");
        }
        for closed in [
            "",
            "    op.add_column(\"events\", sa.Column(",
            "x = 'it\\'s'",
            "x = \"\"\"a\"\"\" # '",
            "# don't",
            "x = 1  # it's",
            "x = '#' + \"'\"",
            "x = ''",
            "x = ''''''",
            "x = 'a'\\",
        ] {
            assert!(!leaves_string_open(closed), "{closed}");
        }
    }

    #[test]
    fn the_edit_between_two_texts() {
        let e = diff_edit("ab\ncd\nef", "ab\ncXd\nef");
        assert_eq!((e.start_byte, e.old_end_byte, e.new_end_byte), (4, 4, 5));
        assert_eq!(e.start_position, Point::new(1, 1));
        assert_eq!(e.new_end_position, Point::new(1, 2));
        // Deleting across a line break.
        let e = diff_edit("ab\ncd\nef", "abef");
        assert_eq!((e.start_byte, e.old_end_byte, e.new_end_byte), (2, 6, 2));
        assert_eq!(e.old_end_position, Point::new(2, 0));
        // The same text: an empty edit at the end.
        let e = diff_edit("abc", "abc");
        assert_eq!((e.start_byte, e.old_end_byte, e.new_end_byte), (3, 3, 3));
        // Repeated characters: prefix and suffix never overlap.
        let e = diff_edit("aaa", "aaaa");
        assert_eq!((e.start_byte, e.old_end_byte, e.new_end_byte), (3, 3, 4));
        // A `\r` before the change goes with it (lone or not depends on it).
        let e = diff_edit("a\rb", "a\r\nb");
        assert_eq!((e.start_byte, e.old_end_byte, e.new_end_byte), (1, 2, 3));
        // 'é' (c3 a9) → 'è' (c3 a8): the edit covers the whole character.
        let e = diff_edit("xéy", "xèy");
        assert_eq!((e.start_byte, e.old_end_byte, e.new_end_byte), (1, 3, 3));
    }
}

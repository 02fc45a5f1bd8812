//! Recovery of a file that does not parse because a statement was left open:
//! a bracket never closed or a string never ended, the usual state of a line
//! being typed.
//!
//! tree-sitter-python recovers from such an error badly: an unclosed `(` at
//! the top of `upgrade()` turns the rest of the module into one ERROR node,
//! the file loses its functions and operations, every approval tag looks
//! unused, and the syntax error is reported at the module's first statement.
//! Python's own tokenizer knows better where the statement ended: a line that
//! starts a new statement at the same or a lower indentation. This module
//! finds such statements by reading the text as Python's tokenizer does
//! (strings, comments, brackets, line continuations) and makes a copy of the
//! text with each of them replaced by `0` and spaces (same byte offsets, same
//! lines). When that copy parses without error, the model is built from it,
//! and MG001 points at the unclosed bracket or string; otherwise nothing
//! changes. Either way MG001 fires exactly when tree-sitter finds an error in
//! the real text.

use crate::position::TextRange;

/// A statement left open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenStatement {
    /// From the statement's first character to the end of its last line
    /// with code on it (comments after it are kept).
    pub statement: TextRange,
    /// The bracket or the string (up to its line's end) left open.
    pub at: TextRange,
    pub what: Unclosed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unclosed {
    /// `(`, `[` or `{` never closed.
    Bracket(u8),
    /// A closing bracket with no opening one, or not the opening one's.
    Unmatched(u8),
    /// A quote with no closing quote on its line (or in the file, for a
    /// triple quote).
    String,
}

impl OpenStatement {
    pub fn message(&self) -> String {
        match self.what {
            Unclosed::Bracket(b) => format!("syntax error: `{}` is never closed", b as char),
            Unclosed::Unmatched(b) => format!("syntax error: unmatched `{}`", b as char),
            Unclosed::String => "syntax error: unterminated string".to_owned(),
        }
    }
}

/// The statements of `text` left open, in order.
pub fn open_statements(text: &str) -> Vec<OpenStatement> {
    Scanner::new(text).run()
}

/// `text` with each statement replaced by `0` and spaces (line breaks kept).
pub fn blank(text: &str, statements: &[OpenStatement]) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    for s in statements {
        for b in &mut bytes[s.statement.start..s.statement.end] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
        if let Some(first) = bytes.get_mut(s.statement.start) {
            *first = b'0';
        }
    }
    // Whole characters were replaced by ASCII: still UTF-8.
    String::from_utf8(bytes).ok()
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    found: Vec<OpenStatement>,
    /// Open brackets of the current logical line: (byte, offset).
    brackets: Vec<(u8, usize)>,
    /// The current logical line: its first character, its indentation, and
    /// the end of its last code character.
    start: usize,
    indent: usize,
    code_end: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            b: text.as_bytes(),
            i: 0,
            found: Vec::new(),
            brackets: Vec::new(),
            start: 0,
            indent: 0,
            code_end: 0,
        }
    }

    fn run(mut self) -> Vec<OpenStatement> {
        let mut at_line_start = true;
        while self.i < self.b.len() {
            if at_line_start {
                at_line_start = false;
                self.line_start();
                continue;
            }
            let c = self.b[self.i];
            match c {
                _ if self.line_break_at(self.i) => {
                    self.i += 1;
                    at_line_start = true;
                }
                b'#' => self.skip_to_line_end(),
                b'\\' if matches!(self.b.get(self.i + 1), Some(b'\n' | b'\r')) => {
                    // A line continuation: the next line goes on this one.
                    self.i += 1;
                    if self.b.get(self.i) == Some(&b'\r') {
                        self.i += 1;
                    }
                    if self.b.get(self.i) == Some(&b'\n') {
                        self.i += 1;
                    }
                }
                b'\'' | b'"' => self.string(c),
                b'(' | b'[' | b'{' => {
                    self.brackets.push((c, self.i));
                    self.code(1);
                }
                b')' | b']' | b'}' => {
                    let open = match c {
                        b')' => b'(',
                        b']' => b'[',
                        _ => b'{',
                    };
                    match self.brackets.pop() {
                        Some((o, _)) if o == open => self.code(1),
                        _ => {
                            self.code(1);
                            self.close_statement(self.i - 1, self.i, Unclosed::Unmatched(c));
                            self.skip_to_line_end();
                        }
                    }
                }
                b' ' | b'\t' | b'\r' | b'\x0c' => self.i += 1,
                _ => self.code(1),
            }
        }
        if let Some(&(open, at)) = self.brackets.last() {
            self.close_statement(at, at + 1, Unclosed::Bracket(open));
        }
        self.found
    }

    /// A character of code: the logical line goes at least this far.
    fn code(&mut self, len: usize) {
        self.i += len;
        self.code_end = self.i;
    }

    fn skip_to_line_end(&mut self) {
        while self.i < self.b.len() && !self.line_break_at(self.i) {
            self.i += 1;
        }
    }

    /// `\n`, or a lone `\r` (a line break to Python; the `\r` of `\r\n` is not).
    fn line_break_at(&self, i: usize) -> bool {
        match self.b.get(i) {
            Some(b'\n') => true,
            Some(b'\r') => self.b.get(i + 1) != Some(&b'\n'),
            _ => false,
        }
    }

    /// At the start of a physical line: a new logical line, unless brackets
    /// are open and the line does not start a new statement.
    fn line_start(&mut self) {
        let mut indent = 0;
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' => indent += 1,
                b'\t' => indent = (indent / 8 + 1) * 8,
                b'\x0c' => indent = 0,
                _ => break,
            }
            self.i += 1;
        }
        let Some(&first) = self.b.get(self.i) else {
            return;
        };
        if matches!(first, b'\n' | b'\r' | b'#') {
            return;
        }
        if !self.brackets.is_empty() {
            let starts_statement =
                (first.is_ascii_alphabetic() || first == b'_' || first == b'@' || first >= 0x80)
                    && indent <= self.indent;
            if !starts_statement {
                return;
            }
            let &(open, at) = self.brackets.last().expect("not empty");
            self.close_statement(at, at + 1, Unclosed::Bracket(open));
        }
        self.start = self.i;
        self.indent = indent;
        self.code_end = self.i;
    }

    /// Records the current logical line as left open, and starts afresh.
    fn close_statement(&mut self, at: usize, at_end: usize, what: Unclosed) {
        let end = self.code_end.max(at_end);
        if self
            .found
            .last()
            .is_none_or(|f| f.statement.start != self.start)
        {
            self.found.push(OpenStatement {
                statement: TextRange::new(self.start, end),
                at: TextRange::new(at, at_end),
                what,
            });
        }
        self.brackets.clear();
    }

    /// A string literal from its opening quote.
    fn string(&mut self, quote: u8) {
        let opened = self.i;
        let triple = self.b[self.i..].starts_with(&[quote; 3]);
        let width = if triple { 3 } else { 1 };
        self.i += width;
        loop {
            match self.b.get(self.i) {
                None => {
                    // Python reads to the end of the file; the statement ends
                    // with its line, so that the rest is still modelled.
                    let line_end = (opened..self.b.len())
                        .find(|&i| self.line_break_at(i))
                        .unwrap_or(self.b.len());
                    self.code_end = line_end;
                    self.close_statement(opened, line_end, Unclosed::String);
                    self.i = line_end;
                    return;
                }
                Some(b'\\') => {
                    // An escaped character, or a line continuation (`\r\n` too).
                    let crlf = self.b[self.i + 1..].starts_with(b"\r\n");
                    self.i += if crlf { 3 } else { 2 };
                }
                Some(_) if !triple && self.line_break_at(self.i) => {
                    let mut end = self.i;
                    if end > opened && self.b[end - 1] == b'\r' {
                        end -= 1;
                    }
                    self.code_end = end;
                    self.close_statement(opened, end, Unclosed::String);
                    return;
                }
                Some(&c)
                    if c == quote && (!triple || self.b[self.i..].starts_with(&[quote; 3])) =>
                {
                    self.code(width);
                    return;
                }
                Some(_) => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_is_scanned_and_blanked_in_place(text in "[ a-z_.,:=\n\t\r\"'()\\[\\]{}#\\\\é😀]{0,160}") {
            let open = open_statements(&text);
            let mut last_end = 0;
            for s in &open {
                prop_assert!(s.statement.start >= last_end && s.statement.start < s.statement.end);
                prop_assert!(s.statement.end <= text.len());
                prop_assert!(s.at.start >= s.statement.start && s.at.end <= s.statement.end.max(s.at.end));
                prop_assert!(text.is_char_boundary(s.statement.start) && text.is_char_boundary(s.statement.end));
                last_end = s.statement.end;
            }
            let copy = blank(&text, &open).expect("still UTF-8");
            prop_assert_eq!(copy.len(), text.len());
            let breaks = |t: &str| t.match_indices(['\n', '\r']).map(|(i, _)| i).collect::<Vec<_>>();
            prop_assert_eq!(breaks(&copy), breaks(&text));
        }
    }

    fn found(text: &str) -> Vec<(&str, &str, Unclosed)> {
        open_statements(text)
            .into_iter()
            .map(|s| {
                (
                    &text[s.statement.start..s.statement.end],
                    &text[s.at.start..s.at.end],
                    s.what,
                )
            })
            .collect()
    }

    #[test]
    fn a_call_left_open_ends_at_the_next_statement() {
        let text =
            "def upgrade():\n    op.add_column(\"t\", sa.Column(\n    op.drop_table(\"x\")\n";
        assert_eq!(
            found(text),
            [(
                "op.add_column(\"t\", sa.Column(",
                "(",
                Unclosed::Bracket(b'(')
            )]
        );
        let blanked = blank(text, &open_statements(text)).unwrap();
        assert_eq!(
            blanked,
            "def upgrade():\n    0                            \n    op.drop_table(\"x\")\n"
        );
    }

    #[test]
    fn continuation_lines_are_not_statements() {
        for text in [
            "op.create_table(\n    \"t\",\n    sa.Column(\"id\"),\n)\nx = 1\n",
            "x = [\n1,\n2]\n",
            "x = (1 +\n     2)\n",
            "x = 1 + \\\n2\n",
            "s = \"a\\\nb\"\n",
            "s = \"a\\\r\nb\"\r\n",
            "s = '''a\n\ndef f(): pass\n'''\n",
            "# it's\nx = 'it''s'  # don't\n",
            "f(\n    # a comment )\n)\n",
        ] {
            assert_eq!(found(text), [], "{text:?}");
        }
    }

    #[test]
    fn strings_left_open() {
        let text = "def upgrade():\n    op.execute(\"UPDATE t\n    op.drop_table('x')  # destructive: approved\n";
        assert_eq!(
            found(text),
            [("op.execute(\"UPDATE t", "\"UPDATE t", Unclosed::String)]
        );
        let text = "x = 1\ny = \"\"\"doc\nz = 2\n";
        assert_eq!(
            found(text),
            [("y = \"\"\"doc", "\"\"\"doc", Unclosed::String)]
        );
    }

    #[test]
    fn the_comments_after_an_open_statement_stay() {
        let text =
            "    op.add_column(\"t\",\n    # destructive: approved\n    op.drop_table(\"x\")\n";
        assert_eq!(
            found(text),
            [("op.add_column(\"t\",", "(", Unclosed::Bracket(b'('))]
        );
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        // Python (and the parser, after `syntax::parse`) reads it as `\n`.
        assert_eq!(
            found("x = (\ry = 1\r"),
            [("x = (", "(", Unclosed::Bracket(b'('))]
        );
        assert_eq!(found("\r\""), [("\"", "\"", Unclosed::String)]);
        assert_eq!(blank("\r\"", &open_statements("\r\"")).unwrap(), "\r0");
    }

    #[test]
    fn unmatched_and_mismatched_closers() {
        assert_eq!(
            found("x = 1)\ny = 2\n"),
            [("x = 1)", ")", Unclosed::Unmatched(b')'))]
        );
        assert_eq!(
            found("x = [1)\ny = 2\n"),
            [("x = [1)", ")", Unclosed::Unmatched(b')'))]
        );
        // At the end of the file.
        assert_eq!(
            found("x = 1\nop.f(a, [b"),
            [("op.f(a, [b", "[", Unclosed::Bracket(b'['))]
        );
    }
}

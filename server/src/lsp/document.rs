//! An open document: its text as a rope (edits in O(log n)), the syntax
//! tree edited in step with it, and the migration model of the last version
//! that was asked for. Positions on the wire are UTF-16; inside, bytes.
//!
//! Edits are applied in the order they arrive (the caller applies them
//! before any `.await`); parsing is lazy, so a burst of keystrokes costs one
//! incremental reparse, not one per keystroke.
//!
//! The tree a reparse starts from is usually the last one, edited. When the
//! edited line closes a string that the last parsed version left open, it is
//! the last version whose line had no open string instead (see
//! [`syntax::edit`]: an open string spoils the reuse of every later token).
//!
//! While a statement is open (a line typed without auto-closed brackets: the
//! keystroke typed an opening bracket or quote, or the last version was
//! already broken so), a keystroke is modelled from the text without the
//! open statements alone ([`MigrationFile::speculated`]): the real text is
//! not parsed, because it only tells that there is a syntax error, which the
//! open statement already says, and its parse is the slow part (a quote
//! opened inside an unclosed call makes tree-sitter parse the rest of the
//! file again). The model is then *speculative*; [`Document::verify_job`]
//! parses the real text when the analysis is idle and, in the rare case it
//! has no error after all, gives the model a full parse would. When the
//! statement is closed, the real text is parsed from the tree of the text
//! without it, which differs from it in that statement only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ropey::Rope;
use tower_lsp::lsp_types::{Position, TextDocumentContentChangeEvent};
use tree_sitter::{InputEdit, Point, Tree};

use crate::migration::{MigrationFile, Recovery, Speculation};
use crate::position::TextRange;
use crate::syntax;
use crate::syntax::recover::OpenStatement;

/// Tells documents apart: a document closed and opened again may start over
/// at the same version number, and a parse of the old one must not be
/// stored into the new one.
static DOCUMENT_IDS: AtomicU64 = AtomicU64::new(0);

pub struct Document {
    id: u64,
    pub version: i32,
    rope: Rope,
    /// The last parsed tree, already edited to match `rope` (`None` after a
    /// full replacement: the next parse starts fresh).
    tree: Option<Tree>,
    parsed: Option<Parsed>,
    /// The line of the last change's end (where the cursor is).
    edited_line: Option<usize>,
    /// The edited line of the last parsed version, when it left a string open.
    open_line: Option<usize>,
    /// The last parsed version whose edited line left no string open, and its
    /// tree as parsed (not edited since).
    anchor: Option<(Arc<MigrationFile>, Tree)>,
    /// The base for parsing a broken version without its open statements
    /// (see [`MigrationFile::from_tree_recovering`]).
    recovery: Option<Recovery>,
    /// The stored model was speculated: the real text of its version was
    /// not parsed (`tree` is the last parsed tree, edited since).
    speculative: bool,
    /// A change since the last stored parse typed an opening bracket or
    /// quote (the next version may be broken by it: speculate).
    opened: bool,
    /// The bytes changed since the last stored parse (in the current text).
    changed: Option<TextRange>,
}

#[derive(Clone)]
struct Parsed {
    version: i32,
    migration: Arc<MigrationFile>,
}

/// What a reparse needs, taken under the documents lock and used outside it.
pub struct ParseJob {
    document: u64,
    version: i32,
    /// A change typed an opening bracket or quote: try
    /// [`MigrationFile::speculated`] before parsing the real text.
    opened: bool,
    /// The last version was recovered: speculate too, and `recovery` is the
    /// best base for parsing the real text.
    recovered: bool,
    /// The bytes changed since the last parse: a speculation that follows a
    /// version that parsed must find its open statements there.
    changed: Option<TextRange>,
    text: String,
    tree: Option<Tree>,
    /// When set, the reparse starts from this version's tree instead of
    /// `tree`, edited by the difference of the two texts.
    anchor: Option<(Arc<MigrationFile>, Tree)>,
    /// The edited line, when it leaves a string open.
    open_line: Option<usize>,
    recovery: Option<Recovery>,
    /// The model of the last parsed version, whose unchanged statements'
    /// operations are reused.
    previous: Option<Arc<MigrationFile>>,
}

/// The result of a [`ParseJob`], stored back if the document has not moved on.
pub struct ParseResult {
    document: u64,
    pub version: i32,
    /// `None` when the model was speculated (the real text not parsed).
    tree: Option<Tree>,
    open_line: Option<usize>,
    recovery: Option<Recovery>,
    pub migration: Arc<MigrationFile>,
}

impl Document {
    pub fn new(version: i32, text: &str) -> Document {
        Document {
            id: DOCUMENT_IDS.fetch_add(1, Ordering::Relaxed),
            version,
            rope: Rope::from_str(text),
            tree: None,
            parsed: None,
            edited_line: None,
            open_line: None,
            anchor: None,
            recovery: None,
            speculative: false,
            opened: false,
            changed: None,
        }
    }

    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    /// Applies `didChange` content changes in order: a change with a range
    /// edits the rope and the tree; one without replaces the whole text, as
    /// the edit between the old text and the new (so clients that send
    /// whole texts get incremental reparses too).
    pub fn apply(&mut self, version: i32, changes: Vec<TextDocumentContentChangeEvent>) {
        for change in changes {
            match change.range {
                Some(range) => {
                    let start = self.offset(range.start);
                    let end = self.offset(range.end).max(start);
                    self.replace(start, end, &change.text);
                }
                None => {
                    let edit = syntax::edit::diff_edit(&self.text(), &change.text);
                    let middle = &change.text[edit.start_byte..edit.new_end_byte];
                    self.replace(edit.start_byte, edit.old_end_byte, middle);
                }
            }
        }
        self.version = version;
    }

    /// An LSP position (UTF-16 column) → byte offset. A line past the end is
    /// the end of the text; a column past the end of its line is the end of
    /// the line (before its line break); a column inside a surrogate pair is
    /// the start of that character.
    pub fn offset(&self, position: Position) -> usize {
        let rope = &self.rope;
        let line = position.line as usize;
        if line >= rope.len_lines() {
            return rope.len_bytes();
        }
        let slice = rope.line(line);
        let mut content = slice.len_chars();
        while content > 0 && matches!(slice.char(content - 1), '\n' | '\r') {
            content -= 1;
        }
        let content = slice.slice(..content);
        let col = (position.character as usize).min(content.len_utf16_cu());
        let ch = content.utf16_cu_to_char(col);
        rope.char_to_byte(rope.line_to_char(line) + ch)
    }

    fn replace(&mut self, start: usize, end: usize, new_text: &str) {
        // The parser read a lone `\r` as `\n` (`syntax::parse`), and whether
        // a `\r` is lone depends on the byte after it: one just before the
        // change is part of the edit.
        let with_cr;
        let (start, new_text) = if start > 0 && self.rope.byte(start - 1) == b'\r' {
            with_cr = format!("\r{new_text}");
            (start - 1, with_cr.as_str())
        } else {
            (start, new_text)
        };
        let start_position = self.point(start);
        let old_end_position = self.point(end);
        let start_char = self.rope.byte_to_char(start);
        let end_char = self.rope.byte_to_char(end);
        self.rope.remove(start_char..end_char);
        self.rope.insert(start_char, new_text);
        let new_end = start + new_text.len();
        let new_end_position = self.point(new_end);
        self.edited_line = Some(new_end_position.row);
        self.opened |= new_text.contains(['(', '[', '{', '"', '\'']);
        // What changed before moves with this edit; both are covered.
        let moved = |at: usize| {
            if at <= start {
                at
            } else if at >= end {
                at - end + new_end
            } else {
                new_end
            }
        };
        self.changed = Some(match self.changed {
            Some(c) => TextRange::new(moved(c.start).min(start), moved(c.end).max(new_end)),
            None => TextRange::new(start, new_end),
        });
        if let Some(tree) = &mut self.tree {
            tree.edit(&InputEdit {
                start_byte: start,
                old_end_byte: end,
                new_end_byte: new_end,
                start_position,
                old_end_position,
                new_end_position,
            });
        }
    }

    /// Tree-sitter's point of a byte offset: row and byte column. Rows come
    /// from the rope's lines, which also break at a lone `\r` where
    /// tree-sitter does not; this only shifts node rows in such files, never
    /// byte ranges (the only positions this tool reads), and the reparse stays
    /// exact (see the test below).
    fn point(&self, byte: usize) -> Point {
        let byte = byte.min(self.rope.len_bytes());
        let row = self.rope.byte_to_line(byte);
        Point::new(row, byte - self.rope.line_to_byte(row))
    }

    /// The model of the current version, if it was already parsed.
    pub fn parsed(&self) -> Option<Arc<MigrationFile>> {
        self.parsed
            .as_ref()
            .filter(|p| p.version == self.version)
            .map(|p| p.migration.clone())
    }

    pub fn parse_job(&self) -> ParseJob {
        let open_line = self.edited_line.filter(|&line| {
            line < self.rope.len_lines()
                && syntax::edit::leaves_string_open(&self.rope.line(line).to_string())
        });
        // The edit closed the string the last parsed version left open on
        // this line: start from the version before that string was opened.
        let closes =
            open_line.is_none() && self.edited_line.is_some_and(|l| self.open_line == Some(l));
        let anchor = self
            .anchor
            .clone()
            .filter(|_| closes && self.tree.is_some());
        // See the module's documentation.
        let recovered = self
            .parsed
            .as_ref()
            .is_some_and(|p| !p.migration.open_statements.is_empty());
        ParseJob {
            document: self.id,
            version: self.version,
            opened: self.opened,
            recovered,
            changed: self.changed,
            text: self.text(),
            tree: if anchor.is_some() {
                None
            } else {
                self.tree.clone()
            },
            anchor,
            open_line,
            recovery: self.recovery.clone(),
            previous: self.parsed.as_ref().map(|p| p.migration.clone()),
        }
    }

    /// Keeps a parse result when it is for the current version (else the
    /// edited old tree stays, and the next parse is still incremental), and
    /// that version has no model yet: when two threads parsed it (the
    /// analysis and a request), the first model stored stays, so a
    /// verification of it is never undone.
    pub fn store(&mut self, result: &ParseResult) {
        if result.document == self.id && result.version == self.version && self.parsed().is_none() {
            self.opened = false;
            self.changed = None;
            self.parsed = Some(Parsed {
                version: result.version,
                migration: result.migration.clone(),
            });
            self.open_line = result.open_line;
            self.recovery = result.recovery.clone();
            self.speculative = result.tree.is_none();
            // A speculated model leaves the last parsed tree, edited, as the
            // base of the next parse: parsed before the statement was opened,
            // it is a better one than a tree of the broken text would be.
            if let Some(tree) = &result.tree {
                self.tree = Some(tree.clone());
                if result.open_line.is_none() {
                    self.anchor = Some((result.migration.clone(), tree.clone()));
                }
            }
        }
    }

    /// Whether the current version's model waits for its real text to be
    /// parsed ([`Document::verify_job`]).
    pub fn unverified(&self) -> bool {
        self.speculative && self.parsed().is_some()
    }

    /// The parse of the real text that confirms a speculated model, when the
    /// current version's model is one. The model counts as verified from now
    /// on, unless the parse is given up ([`Document::store_verified`]): a
    /// verification that fails (a panic) is not tried again and again.
    pub fn verify_job(&mut self) -> Option<VerifyJob> {
        let previous = self.parsed().filter(|_| self.speculative)?;
        self.speculative = false;
        Some(VerifyJob {
            document: self.id,
            version: self.version,
            text: self.text(),
            tree: self.tree.clone(),
            previous,
        })
    }

    /// Takes a verification's outcome; `true` when the model changed (the
    /// real text parses after all: the caller analyses the file again).
    pub fn store_verified(&mut self, verified: Verified) -> bool {
        let current = verified.document == self.id
            && verified.version == self.version
            && self.parsed().is_some();
        if !current {
            return false;
        }
        let (tree, migration, recovery) = match verified.outcome {
            Outcome::GivenUp => {
                self.speculative = true;
                return false;
            }
            // The expected outcome: the model stands. The broken tree is not
            // kept as the next base (an open string spoils it).
            Outcome::Broken => return false,
            Outcome::Parses {
                tree,
                migration,
                recovery,
            } => (tree, migration, recovery),
        };
        self.tree = Some(tree.clone());
        self.recovery = recovery;
        if self.open_line.is_none() {
            self.anchor = Some((migration.clone(), tree));
        }
        self.parsed = Some(Parsed {
            version: verified.version,
            migration,
        });
        true
    }
}

/// A parse of a speculated version's real text (see [`Document::verify_job`]).
pub struct VerifyJob {
    document: u64,
    version: i32,
    text: String,
    tree: Option<Tree>,
    previous: Arc<MigrationFile>,
}

/// What the real text of a speculated version said.
pub struct Verified {
    document: u64,
    version: i32,
    outcome: Outcome,
}

enum Outcome {
    /// Given up for an editor event: to be tried again.
    GivenUp,
    /// The real text has a syntax error: the speculated model is the one a
    /// full parse gives.
    Broken,
    /// The real text parses after all: its tree and model.
    Parses {
        tree: Tree,
        migration: Arc<MigrationFile>,
        recovery: Option<Recovery>,
    },
}

impl VerifyJob {
    /// Given up when `stop` says so (an editor event waits); the next job for
    /// the same version resumes the parse where it stopped.
    pub fn run(self, stop: &dyn Fn() -> bool) -> Verified {
        let key = (u128::from(self.document) << 64) | u128::from(self.version as u32);
        let Some(tree) = syntax::parse_resumable(&self.text, self.tree.as_ref(), stop, key) else {
            return Verified {
                document: self.document,
                version: self.version,
                outcome: Outcome::GivenUp,
            };
        };
        let outcome = if tree.root_node().has_error() {
            Outcome::Broken
        } else {
            // A tree that parses needs no recovery base: it is one.
            let mut recovery = None;
            let migration = MigrationFile::from_tree_unrecovered(
                self.text,
                &tree,
                Some(&self.previous),
                Some(&mut recovery),
            );
            Outcome::Parses {
                tree,
                migration: Arc::new(migration),
                recovery,
            }
        };
        Verified {
            document: self.document,
            version: self.version,
            outcome,
        }
    }
}

impl Verified {
    /// Whether the parse was given up (an editor event waits).
    pub fn given_up(&self) -> bool {
        matches!(self.outcome, Outcome::GivenUp)
    }
}

impl ParseJob {
    /// Whether the job tries [`MigrationFile::speculated`] first.
    fn speculates(&self) -> bool {
        self.previous.is_some() && (self.opened || self.recovered)
    }

    /// After a version that parsed, a statement the scan finds open away
    /// from what changed was open in a text that parsed: the scan is wrong
    /// there (its known limit), and only a parse of the real text can tell.
    fn opened_here(&self, open: &[OpenStatement]) -> bool {
        self.recovered
            || self.changed.is_some_and(|c| {
                open.iter()
                    .all(|s| s.statement.start <= c.end && c.start <= s.statement.end)
            })
    }

    pub fn run(mut self) -> ParseResult {
        let mut recover = true;
        if let Some(previous) = self.previous.as_deref().filter(|_| self.speculates()) {
            let accept = |open: &[OpenStatement]| self.opened_here(open);
            match MigrationFile::speculated(&self.text, previous, self.recovery.as_ref(), &accept) {
                Speculation::Modelled(migration, next) => {
                    return ParseResult {
                        document: self.document,
                        version: self.version,
                        tree: None,
                        open_line: self.open_line,
                        recovery: Some(next),
                        migration: Arc::from(migration),
                    };
                }
                Speculation::Refused => {}
                // Found already: the real text is not scanned again.
                Speculation::Unrecoverable => recover = false,
            }
        }
        let base = match (self.anchor, &self.recovery) {
            (_, Some(recovery)) if self.recovered => Some(recovery.base_for(&self.text)),
            (Some((model, tree)), _) => Some(syntax::edit::rebased(&tree, &model.text, &self.text)),
            (None, _) => self.tree,
        };
        let tree = syntax::parse(&self.text, base.as_ref());
        let model = if recover {
            MigrationFile::from_tree_recovering
        } else {
            MigrationFile::from_tree_unrecovered
        };
        let migration = Arc::new(model(
            self.text,
            &tree,
            self.previous.as_deref(),
            Some(&mut self.recovery),
        ));
        ParseResult {
            document: self.document,
            version: self.version,
            tree: Some(tree),
            open_line: self.open_line,
            recovery: self.recovery,
            migration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp::lsp_types::Range;

    fn change(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: text.into(),
        }
    }

    fn parse(doc: &mut Document) -> Arc<MigrationFile> {
        let result = doc.parse_job().run();
        doc.store(&result);
        result.migration
    }

    #[test]
    fn utf16_columns_after_an_astral_character() {
        let mut doc = Document::new(1, "x = '😀'; y = 1\n");
        // `y` is at UTF-16 column 10 (the emoji is two code units).
        doc.apply(2, vec![change(0, 10, 0, 11, "zz")]);
        assert_eq!(doc.text(), "x = '😀'; zz = 1\n");
        // A column inside the surrogate pair lands before the emoji.
        assert_eq!(doc.offset(Position::new(0, 6)), 5);
    }

    #[test]
    fn out_of_range_positions_are_clamped() {
        let mut doc = Document::new(1, "ab\r\ncd\n");
        assert_eq!(doc.offset(Position::new(0, 99)), 2);
        assert_eq!(doc.offset(Position::new(1, 1)), 5);
        assert_eq!(doc.offset(Position::new(99, 0)), 7);
        doc.apply(2, vec![change(0, 50, 7, 3, "!")]);
        assert_eq!(doc.text(), "ab!");
    }

    #[test]
    fn every_kind_of_line_break_counts() {
        let doc = Document::new(1, "a\rb\r\nc\nd");
        assert_eq!(doc.offset(Position::new(1, 0)), 2);
        assert_eq!(doc.offset(Position::new(2, 0)), 5);
        assert_eq!(doc.offset(Position::new(3, 0)), 7);
    }

    #[test]
    fn full_replacement_and_version() {
        let mut doc = Document::new(1, "a");
        doc.apply(
            7,
            vec![TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "revision = 'x'\n".into(),
            }],
        );
        assert_eq!(doc.version, 7);
        assert_eq!(parse(&mut doc).revision_id().unwrap().value, "x");
    }

    #[test]
    fn incremental_reparse_equals_a_fresh_parse() {
        let text = "\"\"\"m\r\rRevision ID: a\r\"\"\"\rrevision = 'a'\r\ndown_revision = None\n\ndef upgrade():\n    op.drop_table('t')\n";
        let mut doc = Document::new(1, text);
        parse(&mut doc);
        let edits = [
            change(4, 10, 4, 11, "'b'"),
            change(0, 3, 0, 3, "é😀"),
            change(7, 0, 7, 0, "    op.add_column('t', sa.Column('c'))\r"),
            change(5, 0, 6, 0, ""),
            change(2, 14, 2, 14, "x"),
        ];
        for (i, e) in edits.into_iter().enumerate() {
            doc.apply(2 + i as i32, vec![e]);
            let incremental = parse(&mut doc);
            let fresh = MigrationFile::parse(doc.text());
            let tree = doc.tree.as_ref().unwrap().root_node().to_sexp();
            let fresh_tree = syntax::parse(&doc.text(), None).root_node().to_sexp();
            assert_eq!(tree, fresh_tree, "after edit {i}");
            assert_eq!(incremental.revision, fresh.revision, "after edit {i}");
            assert_eq!(
                incremental.down_revision, fresh.down_revision,
                "after edit {i}"
            );
            assert_eq!(incremental.ops, fresh.ops, "after edit {i}");
        }
    }

    /// How the versions of [`type_checking_each_tree`] were parsed.
    #[derive(Debug, Default, PartialEq)]
    struct Parses {
        /// Reparsed from the anchor (a string was closed).
        anchored: usize,
        /// Reparsed from the tree of the last version without its open
        /// statements (they were closed).
        from_recovery: usize,
        /// Speculated (a statement was open), then confirmed.
        speculated: usize,
    }

    /// Types `typed` at `line`, one character per version, and checks every
    /// tree and model against a fresh parse (a speculated model after its
    /// verification, which must keep it).
    fn type_checking_each_tree(doc: &mut Document, line: u32, typed: &str) -> Parses {
        let (mut line, mut column, mut parses) = (line, 0, Parses::default());
        for ch in typed.chars() {
            let version = doc.version + 1;
            doc.apply(
                version,
                vec![change(line, column, line, column, &ch.to_string())],
            );
            let job = doc.parse_job();
            let (anchored, recovered) = (job.anchor.is_some(), job.recovered);
            let result = job.run();
            doc.store(&result);
            let fresh = syntax::parse(&doc.text(), None);
            match &result.tree {
                Some(tree) => {
                    parses.from_recovery += usize::from(recovered);
                    parses.anchored += usize::from(anchored && !recovered);
                    assert_eq!(
                        tree.root_node().to_sexp(),
                        fresh.root_node().to_sexp(),
                        "after {:?}",
                        doc.text()
                    );
                }
                None => {
                    parses.speculated += 1;
                    assert!(doc.unverified());
                    let verified = doc.verify_job().unwrap().run(&|| false);
                    assert!(!doc.store_verified(verified), "{:?}", doc.text());
                    assert!(!doc.unverified());
                    assert!(fresh.root_node().has_error());
                }
            }
            assert_like_check(doc, &format!("after {:?}", doc.text()));
            (line, column) = if ch == '\n' {
                (line + 1, 0)
            } else {
                (line, column + 1)
            };
        }
        parses
    }

    const TYPED_INTO: &str = "revision = 'a'\ndown_revision = None\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    op.drop_table(\"x\")  # it's\n";

    #[test]
    fn closing_a_string_reparses_from_before_it_was_opened() {
        // A file with an error no open statement explains is not recovered.
        let mut doc = Document::new(1, &format!("{TYPED_INTO}oops = = 1\n"));
        parse(&mut doc);
        // Each closing quote starts from the version before its opening one:
        // `"a"`, `'b'`, then `""` (an empty string, before the third quote
        // makes it a triple-quoted one) and `"""x"""`.
        let typed = "    x = \"a\" + 'b'\n    y = \"\"\"x\"\"\"\n";
        let parses = type_checking_each_tree(&mut doc, 4, typed);
        assert_eq!(parses.anchored, 4, "{parses:?}");
        assert_eq!(parses.speculated, 0);
    }

    #[test]
    fn an_open_call_is_speculated_until_it_is_closed() {
        let mut doc = Document::new(1, TYPED_INTO);
        parse(&mut doc);
        // From `(` to `)` the file is broken: every keystroke in between is
        // speculated, strings and all; the `)` reparses the real text from
        // the tree of the text without the call.
        let typed = "    op.add_column(\"events\", sa.Column('seen', server_default=\"a'b\"))\n";
        let parses = type_checking_each_tree(&mut doc, 4, typed);
        let call = "op.add_column(\"events\", sa.Column('seen', server_default=\"a'b\"))";
        assert_eq!(parses.speculated, call.len() - "op.add_column)".len());
        assert_eq!(parses.from_recovery, 1);
        // A string left open by deleting its closing quote, then closed again.
        let end = "    op.add_column(\"events\"".len() as u32;
        doc.apply(doc.version + 1, vec![change(4, end - 1, 4, end, "")]);
        assert!(!parse(&mut doc).open_statements.is_empty());
        assert_eq!(doc.open_line, Some(4));
        doc.apply(doc.version + 1, vec![change(4, end - 1, 4, end - 1, "\"")]);
        let job = doc.parse_job();
        assert!(job.recovered);
        let result = job.run();
        assert_eq!(
            result.tree.unwrap().root_node().to_sexp(),
            syntax::parse(&doc.text(), None).root_node().to_sexp()
        );
        assert!(result.migration.open_statements.is_empty());
    }

    #[test]
    fn a_speculated_model_is_replaced_when_the_real_text_parses() {
        // An argument continued at the statement's own indentation reads as a
        // new statement to the scan (a known limit of `syntax::recover`), so
        // the scan calls the call open while the real text parses.
        let text = "revision = 'a'\ndown_revision = None\n\ndef upgrade():\n    op.create_table('t',\n    sa.Column('c'))\n";
        // Long enough for a parse to be given up before it ends.
        let text = format!(
            "{text}\n\ndef downgrade():\n{}",
            "    op.f(1)\n".repeat(5000)
        );
        let mut doc = Document::new(1, &text);
        parse(&mut doc);
        // Break it for real (the `)` removed), then put the `)` back.
        let line = 5;
        let end = "    sa.Column('c'))".len() as u32;
        doc.apply(2, vec![change(line, end - 1, line, end, "")]);
        assert!(!parse(&mut doc).open_statements.is_empty());
        doc.apply(3, vec![change(line, end - 1, line, end - 1, ")")]);
        let speculated = parse(&mut doc);
        assert!(doc.unverified(), "the scan still finds the call open");
        assert!(!speculated.open_statements.is_empty());
        // Counted as verified once the job is taken (a verification that
        // panics is not tried again), unless it is given up.
        let job = doc.verify_job().unwrap();
        assert!(!doc.unverified());
        let given_up = job.run(&|| true);
        assert!(given_up.given_up());
        assert!(!doc.store_verified(given_up));
        assert!(doc.unverified());
        let verified = doc.verify_job().unwrap().run(&|| false);
        assert!(doc.store_verified(verified), "the model changes");
        let model = doc.parsed().unwrap();
        let fresh = MigrationFile::parse(doc.text());
        assert!(model.syntax_errors.is_empty() && model.open_statements.is_empty());
        assert_eq!(model.ops, fresh.ops);
        assert_eq!(model.ops[0].method, "create_table");
        // The next keystroke parses the real text again.
        doc.apply(4, vec![change(line, 0, line, 0, " ")]);
        assert!(!doc.parse_job().speculates());
    }

    #[test]
    fn a_verification_of_an_old_version_is_dropped() {
        let text = "revision = 'a'\ndown_revision = None\n\ndef upgrade():\n    op.drop_table(\n";
        let mut doc = Document::new(1, text);
        parse(&mut doc);
        doc.apply(2, vec![change(4, 18, 4, 18, "'")]);
        parse(&mut doc);
        let job = doc.verify_job().unwrap();
        doc.apply(3, vec![change(4, 19, 4, 19, "t")]);
        assert!(!doc.unverified(), "not parsed yet");
        assert!(!doc.store_verified(job.run(&|| false)));
        parse(&mut doc);
        assert!(doc.unverified());
    }

    /// The model `--check` builds for the document's text.
    fn assert_like_check(doc: &Document, what: &str) {
        let model = doc.parsed().expect("parsed");
        let fresh = MigrationFile::parse(doc.text());
        assert_eq!(model.syntax_errors, fresh.syntax_errors, "{what}");
        assert_eq!(model.open_statements, fresh.open_statements, "{what}");
        assert_eq!(model.ops, fresh.ops, "{what}");
        assert_eq!(model.comments, fresh.comments, "{what}");
    }

    /// An argument continued at the statement's own indentation: legal, but
    /// the scan reads it as a new statement (its known limit).
    const SCAN_LIMIT: &str = "revision = 'a'\ndown_revision = None\n\ndef upgrade():\n    op.create_table('t',\n    sa.Column('c'))\n    f\n";

    #[test]
    fn brackets_typed_in_a_file_that_parses_speculate_only_about_themselves() {
        // Found by review: an auto-closed `()` made the scan's known limit
        // elsewhere an MG001 until the server was idle.
        let mut doc = Document::new(1, SCAN_LIMIT);
        parse(&mut doc);
        doc.apply(2, vec![change(6, 5, 6, 5, "()")]);
        parse(&mut doc);
        assert!(!doc.unverified());
        assert_like_check(&doc, "auto-closed brackets");
        // A call opened on that line is speculated, once the text there
        // no longer parses.
        doc.apply(3, vec![change(6, 6, 6, 7, "")]);
        parse(&mut doc);
        assert_like_check(&doc, "the call left open");
        doc.apply(4, vec![change(6, 6, 6, 6, "'")]);
        parse(&mut doc);
        assert!(doc.unverified(), "speculated");
        assert_like_check(&doc, "a string opened in the open call");
    }

    #[test]
    fn a_late_store_does_not_undo_a_verification() {
        // Found by review: the analysis thread and a request both parsed the
        // same version; the request stored after the verification.
        let mut doc = Document::new(1, SCAN_LIMIT);
        parse(&mut doc);
        let end = "    sa.Column('c'))".len() as u32;
        doc.apply(2, vec![change(5, end - 1, 5, end, "")]);
        parse(&mut doc);
        doc.apply(3, vec![change(5, end - 1, 5, end - 1, ")")]);
        let (analysis, request) = (doc.parse_job(), doc.parse_job());
        doc.store(&analysis.run());
        let verified = doc.verify_job().unwrap().run(&|| false);
        assert!(doc.store_verified(verified));
        doc.store(&request.run());
        assert!(!doc.unverified());
        assert_like_check(&doc, "what requests read");
    }

    #[test]
    fn a_parse_of_a_closed_document_is_not_stored_into_its_reopening() {
        let old = Document::new(1, "revision = 'a'\n");
        let job = old.parse_job();
        let mut reopened = Document::new(1, "revision = 'b'\n");
        reopened.store(&job.run());
        assert!(reopened.parsed().is_none());
        assert_eq!(parse(&mut reopened).revision_id().unwrap().value, "b");
    }

    /// Every node's kind and byte range (`to_sexp` shows no ranges).
    fn shape(tree: &Tree) -> Vec<(u16, usize, usize)> {
        let mut out = Vec::new();
        let mut cursor = tree.walk();
        'walk: loop {
            let n = cursor.node();
            out.push((n.kind_id(), n.start_byte(), n.end_byte()));
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        out
    }

    #[test]
    fn a_line_break_after_a_lone_carriage_return_reparses_it() {
        // The parser reads a lone `\r` as `\n`; typing `\n` after it makes
        // it part of `\r\n`, which the edit must cover (found by a review's
        // property test: whole-text changes, a recovered file).
        let mut text = "revision = 'a'\ndown_revision = None\n\n\ndef upgrade():\n    op.add_column(\"t\", sa.Column(\"c\", sa.Text()))\n    op.drop_table(\"x\")  # destructive: approved\n".to_owned();
        let mut doc = Document::new(1, &text);
        parse(&mut doc);
        let top = text.find("    op.add_column").unwrap();
        let drop = text.find("op.drop_table").unwrap();
        for (i, (at, removed, inserted)) in [
            (drop + 1, 0, "#"),
            (top + 17, 1, "\n"),
            (drop + 14, 0, "\r"),
            (drop + 14, 0, "\r\n"),
            (drop + 16, 0, "("),
        ]
        .into_iter()
        .enumerate()
        {
            text.replace_range(at..at + removed, inserted);
            doc.apply(
                doc.version + 1,
                vec![TextDocumentContentChangeEvent {
                    range: None,
                    range_length: None,
                    text: text.clone(),
                }],
            );
            if i == 2 || i == 4 {
                let model = parse(&mut doc);
                let fresh = MigrationFile::parse(text.clone());
                assert_eq!(model.comments, fresh.comments, "after change {i}");
                assert_eq!(model.ops, fresh.ops, "after change {i}");
                // The kept tree (the last one parsed, edited since when this
                // version was speculated) gives the exact tree as a base.
                let tree = syntax::parse(&text, None);
                let reparsed = syntax::parse(&text, doc.tree.as_ref());
                assert_eq!(shape(&reparsed), shape(&tree), "after change {i}");
            }
        }
    }

    #[test]
    fn a_whole_text_replacement_is_an_incremental_edit() {
        let mut doc = Document::new(1, "revision = 'a'\ndown_revision = None\n");
        parse(&mut doc);
        doc.apply(
            2,
            vec![TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "revision = 'b'\ndown_revision = None\n".into(),
            }],
        );
        assert_eq!(doc.edited_line, Some(0));
        assert!(doc.tree.is_some(), "the old tree is kept, edited");
        assert_eq!(parse(&mut doc).revision_id().unwrap().value, "b");
        assert_eq!(
            doc.tree.as_ref().unwrap().root_node().to_sexp(),
            syntax::parse(&doc.text(), None).root_node().to_sexp()
        );
    }

    #[test]
    fn a_stale_parse_is_not_stored() {
        let mut doc = Document::new(1, "revision = 'a'\n");
        let job = doc.parse_job();
        doc.apply(2, vec![change(0, 12, 0, 13, "b")]);
        let result = job.run();
        doc.store(&result);
        assert!(doc.parsed().is_none());
        assert_eq!(parse(&mut doc).revision_id().unwrap().value, "b");
    }
}

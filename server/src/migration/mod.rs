//! A migration file as the rest of the tool sees it: its revision
//! identifiers with their source ranges, its docstring header, its
//! `upgrade*` / `downgrade*` functions and every Alembic operation they call.
//! Built from text by [`MigrationFile::parse`], never by importing anything.

mod extract;
mod operations;
pub mod signatures;

use std::collections::HashMap;
use std::sync::Arc;

use tree_sitter::Tree;

use crate::position::{LineIndex, TextRange};
use crate::source::{decode, DecodeProblem};
use crate::syntax::recover::{self, OpenStatement};
use crate::syntax::{self, pystring::StringLiteral};

pub use operations::{CallExpr, Expr, OpCall, Receiver};

/// A revision id (or branch label) as written: its value and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdLit {
    pub value: String,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeclValue {
    /// `None`.
    None,
    /// One string.
    Str(IdLit),
    /// A tuple, list or set of strings (`()` / `[]` is a base, like `None`).
    Seq(Vec<IdLit>),
    /// Anything the tool cannot read without running the file.
    Dynamic,
}

impl DeclValue {
    /// The ids named, or `None` when the value is not known.
    pub fn ids(&self) -> Option<Vec<&IdLit>> {
        match self {
            DeclValue::None => Some(Vec::new()),
            DeclValue::Str(id) => Some(vec![id]),
            DeclValue::Seq(ids) => Some(ids.iter().collect()),
            DeclValue::Dynamic => None,
        }
    }
}

/// A module-level assignment of one of Alembic's four variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    pub value: DeclValue,
    /// The assigned expression (for MG002 and hover).
    pub value_range: TextRange,
    /// The whole statement.
    pub statement_range: TextRange,
}

/// `Revision ID:` / `Revises:` in the module docstring.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub message: Option<String>,
    pub revision_id: Option<IdLit>,
    pub revises: Option<Vec<IdLit>>,
    pub revises_range: Option<TextRange>,
    pub docstring_range: Option<TextRange>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FunctionKind {
    Upgrade,
    Downgrade,
}

#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    pub kind: FunctionKind,
    pub name_range: TextRange,
    /// The `def` statement, decorators included.
    pub def_range: TextRange,
    pub body_range: TextRange,
    /// The body holds nothing but `pass`, `...`, a docstring or comments.
    pub is_empty: bool,
    /// The body's only statements are `raise` (and docstrings / `pass`).
    pub only_raises: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub range: TextRange,
    pub text: String,
}

/// A module-level statement Python evaluates on import that would fail
/// (today: an annotation naming something never imported).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportFailure {
    pub range: TextRange,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct MigrationFile {
    pub text: String,
    pub line_index: LineIndex,
    pub decode_problem: Option<DecodeProblem>,
    /// ERROR (false) and MISSING (true) nodes; in a recovered file, the
    /// statements left open (see `open_statements`).
    pub syntax_errors: Vec<(TextRange, bool)>,
    /// The statements left open that explain every syntax error of the file
    /// ([`crate::syntax::recover`]): the rest of the model was built from the
    /// text without them. Empty in a file that parses or was not recovered.
    pub open_statements: Vec<OpenStatement>,
    pub revision: Option<Declaration>,
    pub down_revision: Option<Declaration>,
    pub branch_labels: Option<Declaration>,
    pub depends_on: Option<Declaration>,
    pub header: Header,
    pub functions: Vec<Function>,
    /// Alembic operations inside `upgrade*` / `downgrade*`, in source order.
    pub ops: Vec<OpCall>,
    /// Calls of plain functions inside them (for configured helpers), with
    /// their callee resolved through the file's imports.
    pub helper_calls: Vec<OpCall>,
    pub comments: Vec<Comment>,
    pub import_failures: Vec<ImportFailure>,
    /// Local name → what it was imported as (`sa` → `sqlalchemy`).
    pub imports: HashMap<String, String>,
    /// The end of the last module-level `import` (where a fix adds one).
    pub imports_end: Option<usize>,
    /// The statements inside one `batch_alter_table` block, with the block's
    /// alias and table: what a later version needs to reuse their operations.
    pub(crate) batch_statements: Vec<(TextRange, String)>,
    /// Operations and comments were freed ([`MigrationFile::release_operations`]).
    pub released: bool,
    /// Only the declarations were read ([`MigrationFile::declarations_only`]):
    /// no functions, no findings yet.
    pub partial: bool,
}

/// Where the module's head ends: the start of the first line that opens a
/// top-level `def`, `async def`, `class` or decorator, when none of the
/// four revision variables' names appears after it (else `None`: only a
/// full parse can tell what they are).
fn module_head_end(text: &str) -> Option<usize> {
    let mut offset = 0;
    let mut end = None;
    for line in text.split_inclusive('\n') {
        if ["def ", "async ", "class ", "@"]
            .iter()
            .any(|start| line.starts_with(start))
        {
            end = Some(offset);
            break;
        }
        offset += line.len();
    }
    let end = end?;
    // `down_revision` contains `revision`.
    let rest = &text[end..];
    let named = ["revision", "branch_labels", "depends_on"]
        .iter()
        .any(|name| rest.contains(name));
    (!named).then_some(end)
}

/// The text of a recovered file without its open statements, and its tree.
#[derive(Clone)]
pub struct Recovery {
    text: Arc<String>,
    tree: Tree,
}

impl Recovery {
    /// Its tree edited to be the base of a parse of `text`: a tree without
    /// syntax errors of nearly the same text, the best base there is for the
    /// next version of a recovered document.
    pub fn base_for(&self, text: &str) -> Tree {
        syntax::edit::rebased(&self.tree, &self.text, text)
    }
}

/// What [`MigrationFile::speculated`] found.
pub enum Speculation {
    /// The model of the text without its open statements, and the base for
    /// the next version's.
    Modelled(Box<MigrationFile>, Recovery),
    /// The caller refused the open statements found: parse the real text and
    /// recover as usual.
    Refused,
    /// Nothing to recover (no open statement, or the text without them does
    /// not parse): the real text's own model is the one
    /// ([`MigrationFile::from_tree_unrecovered`]), whatever its parse says.
    Unrecoverable,
}

impl MigrationFile {
    /// Reads a file's bytes as Python would (BOM, coding declaration).
    pub fn from_bytes(bytes: &[u8]) -> MigrationFile {
        let decoded = decode(bytes);
        let mut file = MigrationFile::parse(decoded.text);
        file.decode_problem = decoded.problem;
        file
    }

    /// Only what the revision graph and navigation read (the four variables,
    /// the header), from a parse of the module's head: the text up to the
    /// first top-level `def`, `class` or decorator. The whole text is parsed
    /// instead when that head has a syntax error or a variable's name appears
    /// after it, so the declarations are always those of a full parse. The
    /// model is marked `partial`: its findings come from a full parse later
    /// ([`MigrationFile::complete`]).
    pub fn declarations_only(bytes: &[u8]) -> MigrationFile {
        let decoded = decode(bytes);
        let text = decoded.text;
        let mut file = match MigrationFile::head(&text) {
            Some(mut file) => {
                file.line_index = LineIndex::new(&text);
                file.text = text;
                file
            }
            None => MigrationFile::parse(text),
        };
        file.decode_problem = decoded.problem;
        file.release_operations();
        file.partial = true;
        file
    }

    pub fn parse(text: String) -> MigrationFile {
        let tree = syntax::parse(&text, None);
        MigrationFile::from_tree(text, &tree)
    }

    /// Builds the model from an existing tree (the language server keeps the
    /// tree and reparses incrementally).
    pub fn from_tree(text: String, tree: &Tree) -> MigrationFile {
        MigrationFile::from_tree_reusing(text, tree, None)
    }

    /// [`MigrationFile::from_tree`], reusing the operations of `previous`, the
    /// model of an earlier version of the same document, for every statement
    /// whose text and context did not change (a keystroke changes one).
    pub fn from_tree_reusing(
        text: String,
        tree: &Tree,
        previous: Option<&MigrationFile>,
    ) -> MigrationFile {
        MigrationFile::from_tree_recovering(text, tree, previous, None)
    }

    /// [`MigrationFile::from_tree_reusing`]; when `tree` has a syntax error
    /// that statements left open explain, the model of the text without them
    /// ([`crate::syntax::recover`]). `recovery`, given by an editor that
    /// keeps it between versions, is the base for parsing that text
    /// incrementally: the last one, or the last version that parsed (whose
    /// text differs from it only in the statements left open since); it is
    /// replaced by this version's.
    pub fn from_tree_recovering(
        text: String,
        tree: &Tree,
        previous: Option<&MigrationFile>,
        mut recovery: Option<&mut Option<Recovery>>,
    ) -> MigrationFile {
        if tree.root_node().has_error() {
            let base = recovery.as_mut().and_then(|r| r.take());
            let found = MigrationFile::recovered(&text, previous, base.as_ref(), &|_| true);
            if let Speculation::Modelled(file, next) = found {
                if let Some(r) = recovery {
                    *r = Some(next);
                }
                return *file;
            }
        }
        MigrationFile::from_tree_unrecovered(text, tree, previous, recovery)
    }

    /// [`MigrationFile::from_tree_recovering`] for a text already known to
    /// be [`Speculation::Unrecoverable`]: the model of `tree` itself.
    pub fn from_tree_unrecovered(
        text: String,
        tree: &Tree,
        previous: Option<&MigrationFile>,
        recovery: Option<&mut Option<Recovery>>,
    ) -> MigrationFile {
        let clean = !tree.root_node().has_error();
        if let Some(r) = recovery {
            *r = clean.then(|| Recovery {
                text: Arc::new(text.clone()),
                tree: tree.clone(),
            });
        }
        MigrationFile::build(text, tree, previous)
    }

    /// The model of a new version of a document built from its text without
    /// its open statements, without parsing the real text: what
    /// [`MigrationFile::from_tree_recovering`] gives whenever the real text
    /// has a syntax error, which is all but certain while a statement is open
    /// (the editor asks when the last version had one, or the keystroke typed
    /// an opening bracket or quote). The editor confirms it later, when idle,
    /// with a parse of the real text (`lsp::document`), and takes the usual
    /// model if that parse finds no error after all. `accept` sees the open
    /// statements before anything is parsed.
    pub fn speculated(
        text: &str,
        previous: &MigrationFile,
        recovery: Option<&Recovery>,
        accept: &dyn Fn(&[OpenStatement]) -> bool,
    ) -> Speculation {
        MigrationFile::recovered(text, Some(previous), recovery, accept)
    }

    fn recovered(
        text: &str,
        previous: Option<&MigrationFile>,
        base: Option<&Recovery>,
        accept: &dyn Fn(&[OpenStatement]) -> bool,
    ) -> Speculation {
        let open = recover::open_statements(text);
        if open.is_empty() {
            return Speculation::Unrecoverable;
        }
        if !accept(&open) {
            return Speculation::Refused;
        }
        let Some(copy) = recover::blank(text, &open) else {
            return Speculation::Unrecoverable;
        };
        let base = base.map(|last| last.base_for(&copy));
        let tree = syntax::parse(&copy, base.as_ref());
        if tree.root_node().has_error() {
            return Speculation::Unrecoverable;
        }
        let mut file = MigrationFile::build(copy, &tree, previous);
        file.syntax_errors = open.iter().map(|s| (s.statement, false)).collect();
        file.open_statements = open;
        let copy = std::mem::replace(&mut file.text, text.to_owned());
        let next = Recovery {
            text: Arc::new(copy),
            tree,
        };
        Speculation::Modelled(Box::new(file), next)
    }

    fn build(text: String, tree: &Tree, previous: Option<&MigrationFile>) -> MigrationFile {
        let line_index = LineIndex::new(&text);
        let mut file = MigrationFile {
            syntax_errors: syntax::syntax_errors(tree),
            open_statements: Vec::new(),
            line_index,
            decode_problem: None,
            revision: None,
            down_revision: None,
            branch_labels: None,
            depends_on: None,
            header: Header::default(),
            functions: Vec::new(),
            ops: Vec::new(),
            helper_calls: Vec::new(),
            comments: Vec::new(),
            import_failures: Vec::new(),
            imports: HashMap::new(),
            imports_end: None,
            batch_statements: Vec::new(),
            released: false,
            partial: false,
            text: String::new(),
        };
        extract::module_level(&mut file, &text, tree);
        if tree.root_node().has_error() {
            file.declarations_from_head(&text);
        }
        operations::collect(&mut file, &text, tree, previous);
        file.text = text;
        file
    }

    /// A file that does not parse, typically a statement half typed in
    /// `upgrade()`, can leave tree-sitter no module-level statements at all
    /// (one ERROR node from the docstring to the end). Its declarations and
    /// header are then read from its module head (as the index's first stage
    /// reads every file) when that head parses: the file keeps its place in
    /// the graph, and the other files do not flicker with MG202 and MG201
    /// while someone types. MG001 still reports the error.
    fn declarations_from_head(&mut self, text: &str) {
        let Some(head) = MigrationFile::head(text) else {
            return;
        };
        self.revision = head.revision;
        self.down_revision = head.down_revision;
        self.branch_labels = head.branch_labels;
        self.depends_on = head.depends_on;
        self.header = head.header;
    }

    /// The model of the module's head alone (see [`module_head_end`]), when
    /// there is one and it parses without error.
    fn head(text: &str) -> Option<MigrationFile> {
        let end = module_head_end(text)?;
        let tree = syntax::parse(&text[..end], None);
        (!tree.root_node().has_error())
            .then(|| MigrationFile::from_tree(text[..end].to_owned(), &tree))
    }

    pub fn upgrade_functions(&self) -> impl Iterator<Item = (usize, &Function)> {
        self.functions
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FunctionKind::Upgrade)
    }

    /// Frees what only the per-file rules read (operations, comments).
    pub fn release_operations(&mut self) {
        self.ops = Vec::new();
        self.helper_calls = Vec::new();
        self.comments = Vec::new();
        self.batch_statements = Vec::new();
        self.released = true;
    }

    /// The complete model: this one, or after a release, the same text
    /// parsed again (for the per-file rules and the outline).
    pub fn complete(self: &Arc<Self>) -> Arc<MigrationFile> {
        if !self.released {
            return self.clone();
        }
        Arc::new(self.reparsed())
    }

    /// The same text parsed again: what this model was before a release.
    pub fn reparsed(&self) -> MigrationFile {
        let mut file = MigrationFile::parse(self.text.clone());
        file.decode_problem = self.decode_problem.clone();
        file
    }

    /// The revision id, when it is a readable string.
    pub fn revision_id(&self) -> Option<&IdLit> {
        match &self.revision.as_ref()?.value {
            DeclValue::Str(id) => Some(id),
            _ => None,
        }
    }

    pub fn line_text(&self, line: usize) -> &str {
        let r = self.line_index.line_range(&self.text, line);
        &self.text[r.start..r.end]
    }

    /// The indentation of the line holding `offset`.
    pub fn indentation_at(&self, offset: usize) -> &str {
        let line = self.line_text(self.line_index.line_of(offset));
        let n = line.len() - line.trim_start_matches([' ', '\t']).len();
        &line[..n]
    }

    pub fn slice(&self, range: TextRange) -> &str {
        self.text.get(range.start..range.end).unwrap_or("")
    }
}

impl StringLiteral {
    pub fn as_id(&self) -> IdLit {
        IdLit {
            value: self.value.clone(),
            range: self.range,
        }
    }
}

/// Every `.py` file under `tests/fixtures`, for tests that run on all of them.
#[cfg(test)]
pub(crate) fn python_fixtures() -> Vec<std::path::PathBuf> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
    let mut stack = vec![std::path::PathBuf::from(root)];
    let mut found = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod declarations_tests {
    use super::*;

    /// Every fixture's declarations-only model declares what its full model
    /// does (the graph of the index's first stage is the final graph).
    #[test]
    fn declarations_only_equal_a_full_parse_on_every_fixture() {
        let (mut files, mut cut) = (0, 0);
        for path in python_fixtures() {
            let bytes = std::fs::read(&path).unwrap();
            let full = MigrationFile::from_bytes(&bytes);
            let head = MigrationFile::declarations_only(&bytes);
            let at = path.display();
            assert!(head.partial && head.released, "{at}");
            assert_eq!(head.text, full.text, "{at}");
            assert_eq!(head.revision, full.revision, "{at}");
            assert_eq!(head.down_revision, full.down_revision, "{at}");
            assert_eq!(head.branch_labels, full.branch_labels, "{at}");
            assert_eq!(head.depends_on, full.depends_on, "{at}");
            assert_eq!(head.header, full.header, "{at}");
            assert_eq!(head.decode_problem, full.decode_problem, "{at}");
            files += 1;
            cut += usize::from(module_head_end(&full.text).is_some());
        }
        assert!(files > 150, "only {files} fixtures");
        assert!(cut > files / 2, "the head was cut in only {cut} of {files}");
    }

    /// Half-typed operations at the top of `upgrade()` of the 1,054-line
    /// benchmark migration: tree-sitter wraps the whole module, docstring and
    /// declarations included, in one ERROR node, and the model used to lose
    /// the file's revision (its children then showed MG202 while typing).
    #[test]
    fn a_half_typed_statement_keeps_the_declarations() {
        let whole = include_str!("../../../tests/fixtures/bench/big_migration.py");
        let valid = MigrationFile::parse(whole.to_owned());
        assert!(valid.syntax_errors.is_empty() && valid.revision.is_some());
        let def = whole.find("def upgrade").unwrap();
        let at = def + whole[def..].find('\n').unwrap() + 1;
        let mut wrapped = 0;
        for typed in [
            "    op.add_column(\n",
            "    op.add_column(\"ev\n",
            "    x = [\n",
        ] {
            let mut text = whole.to_owned();
            text.insert_str(at, typed);
            let tree = syntax::parse(&text, None);
            let revision_at = valid.revision.as_ref().unwrap().statement_range.start;
            let root = tree.root_node();
            let mut cursor = root.walk();
            wrapped += usize::from(root.children(&mut cursor).any(|n| {
                n.kind() == "ERROR" && n.start_byte() <= revision_at && n.end_byte() > at
            }));
            let file = MigrationFile::from_tree(text.clone(), &tree);
            assert!(!file.syntax_errors.is_empty(), "{typed:?}");
            assert_eq!(file.revision, valid.revision, "{typed:?}");
            assert_eq!(file.down_revision, valid.down_revision, "{typed:?}");
            assert_eq!(file.branch_labels, valid.branch_labels, "{typed:?}");
            assert_eq!(file.depends_on, valid.depends_on, "{typed:?}");
            assert_eq!(file.header, valid.header, "{typed:?}");
        }
        assert!(
            wrapped > 0,
            "no case wraps the declarations in an ERROR node"
        );
    }

    #[test]
    fn a_declaration_after_the_first_def_means_a_full_parse() {
        let late = "revision = 'a'\ndef upgrade():\n    pass\ndown_revision = 'b'\n";
        assert_eq!(module_head_end(late), None);
        let file = MigrationFile::declarations_only(late.as_bytes());
        assert!(file.down_revision.is_some());
        let usual = "revision = 'a'\ndown_revision = None\n\n\ndef upgrade():\n    pass\n";
        assert_eq!(module_head_end(usual), Some(usual.find("def").unwrap()));
        // A head that does not parse alone (a string left open) parses whole.
        let open = "\"\"\"doc\ndef upgrade():\n\"\"\"\nx = 1\n";
        assert!(module_head_end(open).is_some());
        let file = MigrationFile::declarations_only(open.as_bytes());
        assert!(file.syntax_errors.is_empty());
        assert_eq!(file.header.message.as_deref(), Some("doc"));
    }
}

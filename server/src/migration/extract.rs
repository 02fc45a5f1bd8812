//! Module level: the four Alembic variables (last assignment wins, also
//! inside module-level `if` / `try`), same-file constants, imports, the
//! docstring header, and annotations Python would fail to evaluate.

use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, Tree};

use super::{DeclValue, Declaration, Header, IdLit, ImportFailure, MigrationFile};
use crate::position::TextRange;
use crate::syntax::{
    self, children, pystring::parse_literal, pystring::StringLiteral, range, text,
};

/// How deep module-level `if` / `try` / `with` blocks are followed.
const MAX_BLOCK_DEPTH: usize = 64;

#[derive(Clone, Debug)]
enum Value {
    Known(DeclValue),
    /// Bound by an import, a def or a class: not a string constant.
    Other,
}

struct Walker<'a> {
    source: &'a str,
    env: HashMap<String, Value>,
    bound: HashSet<String>,
    wildcard_import: bool,
    future_annotations: bool,
    file: &'a mut MigrationFile,
}

pub(super) fn module_level(file: &mut MigrationFile, source: &str, tree: &Tree) {
    let root = tree.root_node();
    let statements = children(root);
    if let Some(first) = statements.first() {
        file.header = docstring_header(*first, source);
    }
    let mut walker = Walker {
        source,
        env: HashMap::new(),
        bound: HashSet::new(),
        wildcard_import: false,
        future_annotations: false,
        file,
    };
    walker.block(&statements, 0);
}

impl Walker<'_> {
    fn block(&mut self, statements: &[Node], depth: usize) {
        if depth > MAX_BLOCK_DEPTH {
            return;
        }
        for &stmt in statements {
            match stmt.kind() {
                "expression_statement" => {
                    for child in children(stmt) {
                        if child.kind() == "assignment" {
                            self.assignment(child, stmt);
                        }
                    }
                }
                "if_statement" => {
                    if let Some(body) = stmt.child_by_field_name("consequence") {
                        self.block(&children(body), depth + 1);
                    }
                    let mut cursor = stmt.walk();
                    let alternatives: Vec<Node> = stmt
                        .children_by_field_name("alternative", &mut cursor)
                        .collect();
                    for alt in alternatives {
                        let body = alt
                            .child_by_field_name("consequence")
                            .or_else(|| alt.child_by_field_name("body"));
                        if let Some(body) = body {
                            self.block(&children(body), depth + 1);
                        }
                    }
                }
                "try_statement" | "with_statement" => {
                    for part in children(stmt) {
                        match part.kind() {
                            "block" => self.block(&children(part), depth + 1),
                            "except_clause"
                            | "except_group_clause"
                            | "else_clause"
                            | "finally_clause" => {
                                for inner in children(part) {
                                    if inner.kind() == "block" {
                                        self.block(&children(inner), depth + 1);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                "import_statement" | "import_from_statement" => {
                    if depth == 0 {
                        self.file.imports_end = Some(stmt.end_byte());
                    }
                    self.import(stmt);
                }
                "future_import_statement" => {
                    if depth == 0 {
                        self.file.imports_end = Some(stmt.end_byte());
                    }
                    if text(stmt, self.source).contains("annotations") {
                        self.future_annotations = true;
                    }
                }
                "function_definition" | "class_definition" => self.bind_def(stmt),
                "decorated_definition" => {
                    if let Some(def) = stmt.child_by_field_name("definition") {
                        self.bind_def(def);
                    }
                }
                _ => {}
            }
        }
    }

    fn bind_def(&mut self, def: Node) {
        if let Some(name) = def.child_by_field_name("name") {
            let name = text(name, self.source).to_owned();
            self.bound.insert(name.clone());
            self.env.insert(name, Value::Other);
        }
    }

    fn import(&mut self, stmt: Node) {
        let module = stmt
            .child_by_field_name("module_name")
            .map(|m| text(m, self.source).to_owned());
        let mut cursor = stmt.walk();
        let names: Vec<Node> = stmt.children_by_field_name("name", &mut cursor).collect();
        if stmt.kind() == "import_from_statement" && names.is_empty() {
            // `from x import *`
            self.wildcard_import = true;
        }
        for name in names {
            let (dotted, alias) = match name.kind() {
                "aliased_import" => (
                    name.child_by_field_name("name")
                        .map(|n| text(n, self.source).to_owned()),
                    name.child_by_field_name("alias")
                        .map(|n| text(n, self.source).to_owned()),
                ),
                _ => (Some(text(name, self.source).to_owned()), None),
            };
            let Some(dotted) = dotted else { continue };
            let (local, full) = match (&module, alias) {
                (Some(module), alias) => {
                    let local = alias.unwrap_or_else(|| dotted.clone());
                    (local, format!("{module}.{dotted}"))
                }
                (None, Some(alias)) => (alias, dotted.clone()),
                (None, None) => {
                    let first = dotted.split('.').next().unwrap_or(&dotted).to_owned();
                    (first.clone(), first)
                }
            };
            self.bound.insert(local.clone());
            self.env.insert(local.clone(), Value::Other);
            self.file.imports.insert(local, full);
        }
    }

    fn assignment(&mut self, node: Node, statement: Node) {
        // `a = b = value` nests assignments on the right.
        let mut targets = Vec::new();
        let mut current = node;
        let value = loop {
            if let Some(annotation) = current.child_by_field_name("type") {
                self.check_annotation(annotation);
            }
            if let Some(left) = current.child_by_field_name("left") {
                targets.push(left);
            }
            match current.child_by_field_name("right") {
                Some(right) if right.kind() == "assignment" => current = right,
                other => break other,
            }
        };
        let Some(value) = value else {
            // An annotation alone (`revision: str`) binds nothing.
            return;
        };
        for target in targets {
            self.bind(target, value, statement);
        }
    }

    fn bind(&mut self, target: Node, value: Node, statement: Node) {
        match target.kind() {
            "identifier" => {
                let name = text(target, self.source).to_owned();
                let evaluated = self.evaluate(value);
                self.record(&name, evaluated.clone(), value, statement);
                self.bound.insert(name.clone());
                self.env.insert(name, Value::Known(evaluated));
            }
            "pattern_list" | "tuple_pattern" | "list_pattern" => {
                let names = children(target);
                let value = syntax::unparenthesize(value);
                let values = match value.kind() {
                    "expression_list" | "tuple" | "list" => children(value),
                    _ => Vec::new(),
                };
                if names.len() == values.len() {
                    for (n, v) in names.into_iter().zip(values) {
                        self.bind(n, v, statement);
                    }
                } else {
                    for n in names {
                        self.bind_unknown(n, value, statement);
                    }
                }
            }
            _ => {}
        }
    }

    fn bind_unknown(&mut self, target: Node, value: Node, statement: Node) {
        if target.kind() == "identifier" {
            let name = text(target, self.source).to_owned();
            self.record(&name, DeclValue::Dynamic, value, statement);
            self.bound.insert(name.clone());
            self.env.insert(name, Value::Known(DeclValue::Dynamic));
        }
    }

    fn record(&mut self, name: &str, value: DeclValue, value_node: Node, statement: Node) {
        let slot = match name {
            "revision" => &mut self.file.revision,
            "down_revision" => &mut self.file.down_revision,
            "branch_labels" => &mut self.file.branch_labels,
            "depends_on" => &mut self.file.depends_on,
            _ => return,
        };
        *slot = Some(Declaration {
            value,
            value_range: range(value_node),
            statement_range: range(statement),
        });
    }

    fn evaluate(&self, node: Node) -> DeclValue {
        let node = syntax::unparenthesize(node);
        match node.kind() {
            "none" => DeclValue::None,
            "string" | "concatenated_string" => match string_value(node, self.source) {
                Some(lit) if !lit.is_bytes => DeclValue::Str(lit.as_id()),
                _ => DeclValue::Dynamic,
            },
            "tuple" | "list" | "set" => {
                let mut ids = Vec::new();
                for item in children(node) {
                    match self.evaluate(item) {
                        DeclValue::Str(id) => ids.push(id),
                        _ => return DeclValue::Dynamic,
                    }
                }
                DeclValue::Seq(ids)
            }
            "identifier" => match self.env.get(text(node, self.source)) {
                Some(Value::Known(DeclValue::Str(id))) => DeclValue::Str(IdLit {
                    value: id.value.clone(),
                    range: range(node),
                }),
                Some(Value::Known(DeclValue::Seq(ids))) => DeclValue::Seq(
                    ids.iter()
                        .map(|id| IdLit {
                            value: id.value.clone(),
                            range: range(node),
                        })
                        .collect(),
                ),
                Some(Value::Known(DeclValue::None)) => DeclValue::None,
                _ => DeclValue::Dynamic,
            },
            "attribute" => {
                let attr = node
                    .child_by_field_name("attribute")
                    .map(|a| text(a, self.source));
                let label = match attr {
                    Some("EXPAND_BRANCH") => "expand",
                    Some("CONTRACT_BRANCH") => "contract",
                    _ => return DeclValue::Dynamic,
                };
                DeclValue::Str(IdLit {
                    value: label.to_owned(),
                    range: range(node),
                })
            }
            _ => DeclValue::Dynamic,
        }
    }

    /// Python evaluates module-level annotations on import (before 3.14,
    /// without `from __future__ import annotations`): a name there that was
    /// never bound makes the import, and so Alembic, fail with NameError.
    fn check_annotation(&mut self, annotation: Node) {
        if self.future_annotations || self.wildcard_import {
            return;
        }
        let mut stack = vec![annotation];
        let mut steps = 0;
        while let Some(node) = stack.pop() {
            steps += 1;
            if steps > 10_000 {
                return;
            }
            match node.kind() {
                "identifier" => {
                    let name = text(node, self.source);
                    if !self.bound.contains(name) && !is_builtin(name) {
                        self.file.import_failures.push(ImportFailure {
                            range: range(node),
                            message: format!(
                                "`{name}` in this annotation is never imported or defined: Python evaluates module-level annotations on import, so Alembic fails to load this file (NameError)"
                            ),
                        });
                        return;
                    }
                }
                "attribute" => {
                    if let Some(object) = node.child_by_field_name("object") {
                        stack.push(object);
                    }
                }
                "string" | "concatenated_string" => {}
                _ => {
                    let mut cursor = node.walk();
                    stack.extend(node.named_children(&mut cursor));
                }
            }
        }
    }
}

/// The value of a string or implicitly concatenated strings.
pub(super) fn string_value(node: Node, source: &str) -> Option<StringLiteral> {
    match node.kind() {
        "string" => parse_literal(text(node, source), node.start_byte()),
        "concatenated_string" => {
            let parts: Option<Vec<StringLiteral>> = children(node)
                .into_iter()
                .map(|part| parse_literal(text(part, source), part.start_byte()))
                .collect();
            StringLiteral::concat(parts?)
        }
        _ => None,
    }
}

fn docstring_header(first: Node, source: &str) -> Header {
    let mut header = Header::default();
    if first.kind() != "expression_statement" {
        return header;
    }
    let Some(node) = first.named_child(0) else {
        return header;
    };
    let Some(doc) = string_value(node, source) else {
        return header;
    };
    header.docstring_range = Some(range(node));
    header.message = doc
        .value
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned);
    let mut offset = 0;
    for line in doc.value.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        for (key, is_revises) in [("Revision ID:", false), ("Revises:", true)] {
            let Some(rest) = trimmed.strip_prefix(key) else {
                continue;
            };
            let value_start = offset + indent + key.len();
            let mut ids = Vec::new();
            let mut pos = value_start;
            for piece in rest.split(',') {
                // Old templates wrote a merge as a tuple: `Revises: ('a', 'b')`.
                let is_noise = |c: char| c.is_whitespace() || matches!(c, '(' | ')' | '\'' | '"');
                let lead = piece.len() - piece.trim_start_matches(is_noise).len();
                let word = piece.trim_matches(is_noise);
                if !word.is_empty() && word != "None" {
                    let start = pos + lead;
                    ids.push(IdLit {
                        value: word.to_owned(),
                        range: doc.source_range(TextRange::new(start, start + word.len())),
                    });
                }
                pos += piece.len() + 1;
            }
            if is_revises {
                let end = offset + line.trim_end().len();
                header.revises_range = Some(
                    doc.source_range(TextRange::new(offset + indent, end.max(offset + indent))),
                );
                header.revises = Some(ids);
            } else {
                header.revision_id = ids.into_iter().next();
            }
        }
        offset += line.len();
    }
    header
}

fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "str"
            | "int"
            | "float"
            | "bool"
            | "bytes"
            | "complex"
            | "tuple"
            | "list"
            | "dict"
            | "set"
            | "frozenset"
            | "type"
            | "object"
            | "None"
            | "Ellipsis"
            | "bytearray"
            | "memoryview"
            | "range"
            | "slice"
            | "property"
            | "classmethod"
            | "staticmethod"
            | "super"
            | "len"
            | "print"
            | "repr"
            | "isinstance"
            | "Exception"
            | "BaseException"
            | "ValueError"
            | "TypeError"
            | "KeyError"
            | "NotImplemented"
            | "True"
            | "False"
            | "__name__"
            | "__file__"
            | "__doc__"
    )
}

#[cfg(test)]
mod tests {
    use crate::migration::{DeclValue, MigrationFile};

    fn ids(v: &Option<crate::migration::Declaration>) -> Option<Vec<String>> {
        v.as_ref()?
            .value
            .ids()
            .map(|ids| ids.into_iter().map(|i| i.value.clone()).collect())
    }

    #[test]
    fn plain_annotated_and_tuple_forms() {
        let f = MigrationFile::parse(
            "from typing import Union\nrevision: str = 'b'\ndown_revision: Union[str, None] = ('a', \"c\")\nbranch_labels = None\ndepends_on = ['x']\n".into(),
        );
        assert_eq!(f.revision_id().unwrap().value, "b");
        assert_eq!(ids(&f.down_revision), Some(vec!["a".into(), "c".into()]));
        assert_eq!(ids(&f.branch_labels), Some(vec![]));
        assert_eq!(ids(&f.depends_on), Some(vec!["x".into()]));
        assert!(f.import_failures.is_empty());
    }

    #[test]
    fn last_assignment_wins_inside_if_and_try() {
        let f = MigrationFile::parse(
            "revision = 'z'\nif x:\n    revision = 'b'\ntry:\n    down_revision = 'q'\nexcept E:\n    down_revision = 'a'\n".into(),
        );
        assert_eq!(f.revision_id().unwrap().value, "b");
        assert_eq!(ids(&f.down_revision), Some(vec!["a".into()]));
    }

    #[test]
    fn constants_and_branch_constants_resolve() {
        let f = MigrationFile::parse(
            "from neutron.db import migration\nREV = 'abc'\nrevision = REV\ndown_revision = None\nbranch_labels = (migration.EXPAND_BRANCH,)\n".into(),
        );
        assert_eq!(f.revision_id().unwrap().value, "abc");
        assert_eq!(ids(&f.branch_labels), Some(vec!["expand".into()]));
    }

    #[test]
    fn anything_else_is_dynamic() {
        let f = MigrationFile::parse(
            "from x import REV\nrevision = REV\ndown_revision = f'{a}'\ndepends_on = 'a' + 'b'\n"
                .into(),
        );
        assert_eq!(f.revision.unwrap().value, DeclValue::Dynamic);
        assert_eq!(f.down_revision.unwrap().value, DeclValue::Dynamic);
        assert_eq!(f.depends_on.unwrap().value, DeclValue::Dynamic);
    }

    #[test]
    fn chained_and_unpacked_assignments() {
        let f = MigrationFile::parse("revision, down_revision = 'b', 'a'\n".into());
        assert_eq!(f.revision_id().unwrap().value, "b");
        assert_eq!(ids(&f.down_revision), Some(vec!["a".into()]));
        let g = MigrationFile::parse("branch_labels = depends_on = None\n".into());
        assert_eq!(ids(&g.depends_on), Some(vec![]));
    }

    #[test]
    fn unimported_annotation_fails_the_import() {
        let f = MigrationFile::parse(
            "revision: str = 'b'\ndown_revision: Union[str, None] = 'a'\n".into(),
        );
        assert_eq!(f.import_failures.len(), 1);
        let g = MigrationFile::parse(
            "from __future__ import annotations\ndown_revision: Union[str, None] = 'a'\n".into(),
        );
        assert!(g.import_failures.is_empty());
    }

    #[test]
    fn docstring_header_is_read() {
        let f = MigrationFile::parse(
            "\"\"\"add users\n\nRevision ID: abc\nRevises: ('a1', 'b2')\nCreate Date: x\n\"\"\"\n"
                .into(),
        );
        assert_eq!(f.header.message.as_deref(), Some("add users"));
        assert_eq!(f.header.revision_id.as_ref().unwrap().value, "abc");
        let revises: Vec<_> = f
            .header
            .revises
            .unwrap()
            .into_iter()
            .map(|i| i.value)
            .collect();
        assert_eq!(revises, vec!["a1", "b2"]);
        let rid = f.header.revision_id.unwrap();
        assert_eq!(&f.text[rid.range.start..rid.range.end], "abc");
    }
}

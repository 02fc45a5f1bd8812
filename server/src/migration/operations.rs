//! The functions of a migration and the Alembic operations they call, with
//! the context a rule needs: which function, which statement, inside which
//! `autocommit_block()` and `batch_alter_table()`.

use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, QueryCursor, StreamingIterator, Tree};

use super::extract::string_value;
use super::{signatures, Function, FunctionKind, IdLit, MigrationFile};
use crate::position::TextRange;
use crate::syntax::{self, children, dotted_name, pystring::StringLiteral, range, text};

/// How deep argument expressions are modelled; deeper ones are `Other`.
const MAX_EXPR_DEPTH: usize = 8;

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Str(StringLiteral),
    Bool(bool, TextRange),
    None(TextRange),
    /// A name or attribute chain (`sa.Integer`).
    Name(String, TextRange),
    Call(Box<CallExpr>),
    Seq(Vec<Expr>, TextRange),
    Other(TextRange),
}

impl Expr {
    pub fn range(&self) -> TextRange {
        match self {
            Expr::Str(s) => s.range,
            Expr::Call(c) => c.range,
            Expr::Bool(_, r)
            | Expr::None(r)
            | Expr::Name(_, r)
            | Expr::Seq(_, r)
            | Expr::Other(r) => *r,
        }
    }

    /// The string value: a literal, or a name wrapped in `op.f("ix_a")`,
    /// `conv(...)` or `quoted_name(...)` (naming-convention markers, which
    /// are `str` subclasses).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Expr::Str(s) => Some(&s.value),
            Expr::Call(c) if matches!(c.callee_name(), "f" | "conv" | "quoted_name") => {
                match c.args.first()? {
                    Expr::Str(s) => Some(&s.value),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    pub fn is_true(&self) -> bool {
        matches!(self, Expr::Bool(true, _))
    }

    pub fn as_call(&self) -> Option<&CallExpr> {
        match self {
            Expr::Call(c) => Some(c),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallExpr {
    /// Dotted callee (`sa.Column`), or empty when it is not a name.
    pub callee: String,
    pub args: Vec<Expr>,
    pub kwargs: Vec<(String, Expr)>,
    pub range: TextRange,
}

impl CallExpr {
    pub fn kwarg(&self, name: &str) -> Option<&Expr> {
        self.kwargs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The last part of the callee: `Column` for `sa.Column`.
    pub fn callee_name(&self) -> &str {
        self.callee.rsplit('.').next().unwrap_or("")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Receiver {
    /// `op.<method>`.
    Op,
    /// A `batch_alter_table` alias; the table, when it is a literal.
    Batch { table: Option<IdLit> },
    /// A plain function (a configured helper), by resolved dotted name.
    Helper,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OpCall {
    /// `drop_table`, or for a helper the resolved dotted callee.
    pub method: String,
    pub receiver: Receiver,
    /// Index into `MigrationFile::functions`.
    pub function: usize,
    pub call: CallExpr,
    pub method_range: TextRange,
    pub arguments_range: TextRange,
    /// The statement holding the call (tags sit above or beside it).
    pub statement_range: TextRange,
    pub in_autocommit: bool,
}

impl OpCall {
    /// The argument bound to parameter `name`, by keyword or by position.
    pub fn arg(&self, name: &str) -> Option<&Expr> {
        if let Some(v) = self.call.kwarg(name) {
            return Some(v);
        }
        let batch = matches!(self.receiver, Receiver::Batch { .. });
        let params = signatures::positional(&self.method, batch)?;
        let index = params.iter().position(|p| *p == name)?;
        self.call.args.get(index)
    }

    pub fn kwarg(&self, name: &str) -> Option<&Expr> {
        self.call.kwarg(name)
    }

    /// The table the operation works on, when it is a literal.
    pub fn table(&self) -> Option<&str> {
        if let Receiver::Batch { table } = &self.receiver {
            return table.as_ref().map(|t| t.value.as_str());
        }
        let param = match self.method.as_str() {
            "create_foreign_key" => "source_table",
            "rename_table" => "old_table_name",
            _ => "table_name",
        };
        self.arg(param)?.as_str()
    }

    pub fn is_batch(&self) -> bool {
        matches!(self.receiver, Receiver::Batch { .. })
    }

    /// `op.drop_table` or `batch_op.drop_column`, for messages.
    pub fn display_name(&self) -> String {
        match self.receiver {
            Receiver::Op => format!("op.{}", self.method),
            Receiver::Batch { .. } => format!("batch_op.{}", self.method),
            Receiver::Helper => self.method.clone(),
        }
    }
}

pub(super) fn collect(
    file: &mut MigrationFile,
    source: &str,
    tree: &Tree,
    previous: Option<&MigrationFile>,
) {
    collect_functions(file, source, tree);
    collect_comments(file, source, tree);
    if file.functions.is_empty() {
        return;
    }
    let reuse = previous
        .filter(|p| p.imports == file.imports)
        .map(Reuse::new)
        .unwrap_or_default();
    let mut op_names: HashSet<String> = file
        .imports
        .iter()
        .filter(|(_, full)| full.as_str() == "alembic.op")
        .map(|(local, _)| local.clone())
        .collect();
    op_names.insert("op".into());

    let (k, f) = (syntax::kinds(), syntax::fields());
    for index in 0..file.functions.len() {
        // The body, from the function's name (a block can share its range
        // with its only statement, so it is not looked up by range).
        let name = file.functions[index].name_range;
        let Some(body) = tree
            .root_node()
            .descendant_for_byte_range(name.start, name.end)
            .and_then(|n| n.parent())
            .filter(|d| d.kind() == "function_definition")
            .and_then(|d| d.child_by_field_name("body"))
        else {
            continue;
        };
        let mut reused = Vec::new();
        let mut batch_statements = std::mem::take(&mut file.batch_statements);
        let sites = call_sites(
            body,
            source,
            &op_names,
            &reuse,
            &mut reused,
            &mut batch_statements,
        );
        file.batch_statements = batch_statements;
        for site in sites {
            let CallSite {
                call,
                context,
                statement,
                is_statement,
            } = site;
            let Some(arguments) = call
                .child_by_field_id(f.arguments)
                .filter(|a| a.kind_id() == k.argument_list)
            else {
                continue;
            };
            let Some(function) = call.child_by_field_id(f.function) else {
                continue;
            };
            let helper = (function.kind_id() == k.identifier).then_some(function);
            let (receiver_node, method_node) = if function.kind_id() == k.attribute {
                (
                    function.child_by_field_id(f.object),
                    function.child_by_field_id(f.attribute),
                )
            } else {
                (None, None)
            };
            let (method, receiver, method_range) = if let Some(helper) = helper {
                if !is_statement {
                    continue;
                }
                let name = text(helper, source);
                let resolved = file
                    .imports
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| name.to_owned());
                (resolved, Receiver::Helper, range(helper))
            } else {
                let (Some(receiver), Some(method)) = (receiver_node, method_node) else {
                    continue;
                };
                // A call inside an expression on a plain name that is neither
                // `op` nor a batch alias (`sa.Column(...)` in the arguments):
                // not an operation, and most calls are such.
                if !is_statement && receiver.kind_id() == k.identifier {
                    let r = text(receiver, source);
                    if !op_names.contains(r)
                        && !context.batch_aliases.iter().any(|(alias, _)| alias == r)
                    {
                        continue;
                    }
                }
                let name = text(method, source).to_owned();
                let receiver_name = dotted_name(receiver, source);
                match receiver_name {
                    Some(r) if op_names.contains(&r) || r == "alembic.op" => {
                        (name, Receiver::Op, range(method))
                    }
                    Some(r) if context.batch_aliases.iter().any(|(alias, _)| *alias == r) => {
                        let table = context
                            .batch_aliases
                            .iter()
                            .rev()
                            .find(|(alias, _)| *alias == r)
                            .and_then(|(_, t)| t.clone());
                        (name, Receiver::Batch { table }, range(method))
                    }
                    Some(r) if is_statement => {
                        let mut parts = r.splitn(2, '.');
                        let head = parts.next().unwrap_or_default();
                        let base = match file.imports.get(head) {
                            Some(full) => match parts.next() {
                                Some(rest) => format!("{full}.{rest}"),
                                None => full.clone(),
                            },
                            None => r.clone(),
                        };
                        (format!("{base}.{name}"), Receiver::Helper, range(method))
                    }
                    _ => continue,
                }
            };
            let mut call_expr = call_expr(call, arguments, source, 0);
            call_expr.callee = method.clone();
            let op = OpCall {
                method,
                receiver,
                function: index,
                call: call_expr,
                method_range,
                arguments_range: range(arguments),
                statement_range: range(statement),
                in_autocommit: context.in_autocommit,
            };
            if op.receiver == Receiver::Helper {
                file.helper_calls.push(op);
            } else {
                file.ops.push(op);
            }
        }
        for mut op in reused {
            op.function = index;
            if op.receiver == Receiver::Helper {
                file.helper_calls.push(op);
            } else {
                file.ops.push(op);
            }
        }
    }
    file.ops.sort_by_key(|o| o.call.range.start);
    file.helper_calls.sort_by_key(|o| o.call.range.start);
}

fn collect_functions(file: &mut MigrationFile, source: &str, tree: &Tree) {
    let q = &syntax::queries().functions;
    let name_ix = q
        .capture_index_for_name("name")
        .expect("capture in functions.scm");
    let fn_ix = q
        .capture_index_for_name("function")
        .expect("capture in functions.scm");
    let mut cursor = QueryCursor::new();
    // The patterns start at the module node: never look deeper for a start.
    cursor.set_max_start_depth(Some(0));
    let mut matches = cursor.matches(q, tree.root_node(), source.as_bytes());
    while let Some(m) = matches.next() {
        let node_of = |ix: u32| m.captures().iter().find(|c| c.index == ix).map(|c| c.node);
        let (Some(name), Some(def)) = (node_of(name_ix), node_of(fn_ix)) else {
            continue;
        };
        let name_text = text(name, source);
        let kind = if name_text == "upgrade" || name_text.starts_with("upgrade_") {
            FunctionKind::Upgrade
        } else if name_text == "downgrade" || name_text.starts_with("downgrade_") {
            FunctionKind::Downgrade
        } else {
            continue;
        };
        let Some(body) = def.child_by_field_name("body") else {
            continue;
        };
        let outer = match def.parent() {
            Some(p) if p.kind() == "decorated_definition" => p,
            _ => def,
        };
        let statements = children(body);
        let is_filler = |s: &Node| match s.kind() {
            "pass_statement" => true,
            "expression_statement" => children(*s)
                .iter()
                .all(|e| matches!(e.kind(), "string" | "concatenated_string" | "ellipsis")),
            _ => false,
        };
        let is_empty = statements.iter().all(is_filler);
        let only_raises = statements.iter().any(|s| s.kind() == "raise_statement")
            && statements
                .iter()
                .all(|s| s.kind() == "raise_statement" || is_filler(s));
        file.functions.push(Function {
            name: name_text.to_owned(),
            kind,
            name_range: range(name),
            def_range: range(outer),
            body_range: range(body),
            is_empty,
            only_raises,
        });
    }
    file.functions.sort_by_key(|f| f.def_range.start);
}

/// Comments, found from the `#` characters of the text (a query would walk
/// every node of a large file): a `#` that starts a comment node is one.
fn collect_comments(file: &mut MigrationFile, source: &str, tree: &Tree) {
    let root = tree.root_node();
    for (offset, _) in source.match_indices('#') {
        let Some(node) = root.descendant_for_byte_range(offset, offset + 1) else {
            continue;
        };
        if node.kind() == "comment" && node.start_byte() == offset {
            file.comments.push(super::Comment {
                range: range(node),
                text: text(node, source).to_owned(),
            });
        }
    }
}

/// The operations of an earlier version of a document, by the text of their
/// statement, whether it is inside an `autocommit_block()`, and the alias and
/// table of the `batch_alter_table` block around it. What a simple statement
/// yields depends on nothing else once the imports are the same (checked by
/// the caller) and the statement parses without error in both versions.
#[derive(Default)]
struct Reuse<'p> {
    /// `(statement text, in autocommit, batch key)` → (the statement's start,
    /// its operations).
    by_statement: HashMap<(&'p str, bool, &'p str), (usize, Vec<&'p OpCall>)>,
}

impl<'p> Reuse<'p> {
    fn new(previous: &'p MigrationFile) -> Reuse<'p> {
        let mut reuse = Reuse::default();
        if previous.released {
            return reuse;
        }
        let batch_of: HashMap<TextRange, &str> = previous
            .batch_statements
            .iter()
            .map(|(r, key)| (*r, key.as_str()))
            .collect();
        let mut by_range: HashMap<TextRange, Vec<&'p OpCall>> = HashMap::new();
        for op in previous.ops.iter().chain(&previous.helper_calls) {
            by_range.entry(op.statement_range).or_default().push(op);
        }
        for (range, mut ops) in by_range {
            // A statement with a syntax error in it is modelled again (its
            // tree may change with no change to its text).
            let broken = previous
                .syntax_errors
                .iter()
                .any(|(e, _)| e.start < range.end && range.start < e.end.max(e.start + 1));
            let Some(text) = previous
                .text
                .get(range.start..range.end)
                .filter(|_| !broken)
            else {
                continue;
            };
            ops.sort_by_key(|op| op.call.range.start);
            let batch = batch_of.get(&range).copied().unwrap_or("");
            let key = (text, ops[0].in_autocommit, batch);
            reuse.by_statement.insert(key, (range.start, ops));
        }
        reuse
    }

    fn get<'a>(
        &'a self,
        (text, autocommit): (&'a str, bool),
        batch: &'a str,
    ) -> Option<&'a (usize, Vec<&'p OpCall>)> {
        if self.by_statement.is_empty() {
            return None;
        }
        // Keys borrowed for as long as this call (the map is covariant).
        let map: &'a HashMap<(&'a str, bool, &'a str), (usize, Vec<&'p OpCall>)> =
            &self.by_statement;
        map.get(&(text, autocommit, batch))
    }
}

impl OpCall {
    /// A copy moved by `delta` bytes, inside a batch block on `table`.
    fn shifted(&self, delta: isize, table: Option<&Option<IdLit>>) -> OpCall {
        let mut op = self.clone();
        op.call.shift(delta);
        op.method_range = op.method_range.shifted(delta);
        op.arguments_range = op.arguments_range.shifted(delta);
        op.statement_range = op.statement_range.shifted(delta);
        if let (Receiver::Batch { table: old }, Some(table)) = (&mut op.receiver, table) {
            *old = table.clone();
        }
        op
    }
}

impl CallExpr {
    fn shift(&mut self, delta: isize) {
        self.range = self.range.shifted(delta);
        for arg in self
            .args
            .iter_mut()
            .chain(self.kwargs.iter_mut().map(|(_, v)| v))
        {
            arg.shift(delta);
        }
    }
}

impl Expr {
    fn shift(&mut self, delta: isize) {
        match self {
            Expr::Str(s) => s.shift(delta),
            Expr::Call(c) => c.shift(delta),
            Expr::Seq(items, r) => {
                for item in items {
                    item.shift(delta);
                }
                *r = r.shifted(delta);
            }
            Expr::Bool(_, r) | Expr::None(r) | Expr::Name(_, r) | Expr::Other(r) => {
                *r = r.shifted(delta);
            }
        }
    }
}

/// What the `with` blocks around a call say.
#[derive(Clone, Default)]
struct Context {
    in_autocommit: bool,
    /// `(alias, table)` of enclosing `batch_alter_table` blocks, outermost first.
    batch_aliases: Vec<(String, Option<IdLit>)>,
}

impl Context {
    /// What of the context decides a simple statement's operations besides
    /// `in_autocommit`: the batch alias and table; `None` inside nested batch
    /// blocks (not reused).
    fn batch_key(&self) -> Option<String> {
        match self.batch_aliases.as_slice() {
            [] => Some(String::new()),
            [(alias, table)] => Some(format!(
                "{alias}\0{}",
                table.as_ref().map_or("\u{1}", |t| t.value.as_str())
            )),
            _ => None,
        }
    }

    /// The context inside the body of `with_statement`.
    fn inside(&self, with_statement: Node, source: &str, op_names: &HashSet<String>) -> Context {
        let mut context = self.clone();
        for item in with_items(with_statement) {
            let Some(value) = item.child_by_field_name("value") else {
                continue;
            };
            let (expr, alias) = if value.kind() == "as_pattern" {
                let alias = value
                    .child_by_field_name("alias")
                    .and_then(|a| a.named_child(0).or(Some(a)))
                    .map(|a| text(a, source).to_owned());
                (value.named_child(0), alias)
            } else {
                (Some(value), None)
            };
            let Some(expr) = expr.filter(|e| e.kind() == "call") else {
                continue;
            };
            let Some(function) = expr.child_by_field_name("function") else {
                continue;
            };
            if function.kind() != "attribute" {
                continue;
            }
            match function
                .child_by_field_name("attribute")
                .map(|a| text(a, source))
            {
                Some("autocommit_block") => context.in_autocommit = true,
                Some("batch_alter_table") => {
                    let receiver = function
                        .child_by_field_name("object")
                        .and_then(|o| dotted_name(o, source));
                    let is_op =
                        receiver.is_some_and(|r| op_names.contains(&r) || r == "alembic.op");
                    if let (true, Some(alias)) = (is_op, alias) {
                        let table = first_string_arg(expr, source, "table_name");
                        context.batch_aliases.push((alias, table));
                    }
                }
                _ => {}
            }
        }
        context
    }
}

/// A call inside a function body, with what surrounds it.
struct CallSite<'t> {
    call: Node<'t>,
    context: std::rc::Rc<Context>,
    /// The statement holding the call (its ancestor whose parent is a block).
    statement: Node<'t>,
    /// The call is the statement itself (`helper(...)`), not nested in an expression.
    is_statement: bool,
}

/// Every call in `body`, found by one iterative walk that carries the
/// `with` context down (no `Node::parent()` walks: each is a descent from the
/// root in tree-sitter, quadratic over a file).
fn call_sites<'t>(
    body: Node<'t>,
    source: &str,
    op_names: &HashSet<String>,
    reuse: &Reuse,
    reused: &mut Vec<OpCall>,
    batch_statements: &mut Vec<(TextRange, String)>,
) -> Vec<CallSite<'t>> {
    struct Frame<'t> {
        node: Node<'t>,
        context: std::rc::Rc<Context>,
        statement: Node<'t>,
        statement_call: Option<usize>,
        /// Inside a call: only expressions below, where only a call on `op`
        /// or a batch alias counts.
        in_call: bool,
    }
    let mut sites = Vec::new();
    let mut stack = vec![Frame {
        node: body,
        context: std::rc::Rc::new(Context::default()),
        statement: body,
        statement_call: None,
        in_call: false,
    }];
    let mut cursor = body.walk();
    let k = syntax::kinds();
    while let Some(frame) = stack.pop() {
        let node = frame.node;
        match node.kind_id() {
            kind if kind == k.block => {
                let batch = frame.context.batch_key();
                for child in node.named_children(&mut cursor) {
                    let simple = child.kind_id() == k.expression_statement;
                    if let Some(batch) = batch.as_ref().filter(|_| simple) {
                        if !batch.is_empty() {
                            batch_statements.push((range(child), batch.clone()));
                        }
                        let key = (text(child, source), frame.context.in_autocommit);
                        if let Some((start, ops)) =
                            reuse.get(key, batch).filter(|_| !child.has_error())
                        {
                            #[cfg(test)]
                            tests::REUSED.with(|n| n.set(n.get() + ops.len()));
                            let delta = child.start_byte() as isize - *start as isize;
                            let table = frame.context.batch_aliases.first().map(|(_, t)| t);
                            reused.extend(ops.iter().map(|op| op.shifted(delta, table)));
                            continue;
                        }
                    }
                    stack.push(Frame {
                        node: child,
                        context: frame.context.clone(),
                        statement: child,
                        statement_call: statement_call(child).map(|c| c.id()),
                        in_call: false,
                    });
                }
                continue;
            }
            kind if kind == k.with_statement => {
                let inner = std::rc::Rc::new(frame.context.inside(node, source, op_names));
                for child in node.named_children(&mut cursor) {
                    let context = if child.kind_id() == k.block {
                        inner.clone()
                    } else {
                        frame.context.clone()
                    };
                    stack.push(Frame {
                        node: child,
                        context,
                        statement: frame.statement,
                        statement_call: frame.statement_call,
                        in_call: false,
                    });
                }
                continue;
            }
            kind if kind == k.call => sites.push(CallSite {
                call: node,
                context: frame.context.clone(),
                statement: frame.statement,
                is_statement: frame.statement_call == Some(node.id()),
            }),
            kind if kind == k.string || kind == k.comment || kind == k.identifier => continue,
            _ => {}
        }
        let in_call = frame.in_call || node.kind_id() == k.call;
        for child in node.named_children(&mut cursor) {
            // Most nodes of a migration are column definitions in the
            // arguments of an operation: a subtree whose text names neither
            // `op` nor a batch alias holds no call that counts.
            if in_call {
                let words = op_names
                    .iter()
                    .map(String::as_str)
                    .chain(frame.context.batch_aliases.iter().map(|(a, _)| a.as_str()));
                if !mentions_any(text(child, source).as_bytes(), words) {
                    continue;
                }
            }
            stack.push(Frame {
                node: child,
                context: frame.context.clone(),
                statement: frame.statement,
                statement_call: frame.statement_call,
                in_call,
            });
        }
    }
    sites
}

/// Whether `haystack` holds one of `names` (dotted ones by their last part)
/// as a whole identifier. It may say yes where the name is in a string or a
/// comment; it never says no where a node of the text is that name.
fn mentions_any<'a>(haystack: &[u8], names: impl Iterator<Item = &'a str>) -> bool {
    let is_ident = |b: u8| b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80;
    names.into_iter().any(|name| {
        let word = name.rsplit('.').next().unwrap_or(name).trim().as_bytes();
        if word.is_empty() {
            return true;
        }
        memchr::memmem::find_iter(haystack, word).any(|at| {
            let before = at.checked_sub(1).map(|i| haystack[i]);
            let after = haystack.get(at + word.len()).copied();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
    })
}

/// The call an expression statement consists of (through `await` and parentheses).
fn statement_call(statement: Node) -> Option<Node> {
    let k = syntax::kinds();
    if statement.kind_id() != k.expression_statement {
        return None;
    }
    let mut node = statement.named_child(0)?;
    loop {
        let kind = node.kind_id();
        if kind == k.call {
            return Some(node);
        } else if kind == k.await_ || kind == k.parenthesized_expression {
            node = node.named_child(0)?;
        } else {
            return None;
        }
    }
}

fn with_items(with_statement: Node) -> Vec<Node> {
    let mut items = Vec::new();
    for child in children(with_statement) {
        if child.kind() == "with_clause" {
            items.extend(
                children(child)
                    .into_iter()
                    .filter(|c| c.kind() == "with_item"),
            );
        }
    }
    items
}

fn first_string_arg(call: Node, source: &str, keyword: &str) -> Option<IdLit> {
    let args = call.child_by_field_name("arguments")?;
    for arg in children(args) {
        if arg.kind() == "keyword_argument" {
            let name = arg.child_by_field_name("name").map(|n| text(n, source));
            if name == Some(keyword) {
                return arg
                    .child_by_field_name("value")
                    .and_then(|v| string_value(v, source))
                    .map(|s| s.as_id());
            }
            continue;
        }
        return string_value(arg, source).map(|s| s.as_id());
    }
    None
}

fn call_expr(call: Node, arguments: Node, source: &str, depth: usize) -> CallExpr {
    let (k, f) = (syntax::kinds(), syntax::fields());
    let callee = call
        .child_by_field_id(f.function)
        .and_then(|f| dotted_name(f, source))
        .unwrap_or_default();
    let mut expr = CallExpr {
        callee,
        args: Vec::new(),
        kwargs: Vec::new(),
        range: range(call),
    };
    let mut cursor = arguments.walk();
    for arg in arguments.named_children(&mut cursor) {
        if arg.kind_id() == k.comment {
            continue;
        }
        if arg.kind_id() == k.keyword_argument {
            let (Some(name), Some(value)) = (
                arg.child_by_field_id(f.name),
                arg.child_by_field_id(f.value),
            ) else {
                continue;
            };
            expr.kwargs.push((
                text(name, source).to_owned(),
                to_expr(value, source, depth + 1),
            ));
        } else {
            expr.args.push(to_expr(arg, source, depth + 1));
        }
    }
    expr
}

fn to_expr(node: Node, source: &str, depth: usize) -> Expr {
    let node = syntax::unparenthesize(node);
    let r = range(node);
    if depth > MAX_EXPR_DEPTH {
        return Expr::Other(r);
    }
    let k = syntax::kinds();
    let kind = node.kind_id();
    if kind == k.string || kind == k.concatenated_string {
        match string_value(node, source) {
            Some(s) => Expr::Str(s),
            None => Expr::Other(r),
        }
    } else if kind == k.true_ {
        Expr::Bool(true, r)
    } else if kind == k.false_ {
        Expr::Bool(false, r)
    } else if kind == k.none {
        Expr::None(r)
    } else if kind == k.identifier || kind == k.attribute {
        match dotted_name(node, source) {
            Some(name) => Expr::Name(name, r),
            None => Expr::Other(r),
        }
    } else if kind == k.call {
        match node.child_by_field_id(syntax::fields().arguments) {
            Some(args) if args.kind_id() == k.argument_list => {
                Expr::Call(Box::new(call_expr(node, args, source, depth)))
            }
            _ => Expr::Other(r),
        }
    } else if kind == k.list || kind == k.tuple || kind == k.set {
        let mut cursor = node.walk();
        Expr::Seq(
            node.named_children(&mut cursor)
                .filter(|c| c.kind_id() != k.comment)
                .map(|c| to_expr(c, source, depth + 1))
                .collect(),
            r,
        )
    } else {
        Expr::Other(r)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::migration::{FunctionKind, MigrationFile, Receiver};
    use crate::syntax;

    thread_local! {
        /// How many operations were reused from a previous model.
        pub static REUSED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// Edits typed into every fixture, one after another; after each, the
    /// model built reusing the previous version's operations must equal the
    /// model built from scratch.
    #[test]
    fn reusing_a_previous_model_equals_building_from_scratch() {
        const INSERTS: &[&str] = &[
            "x",
            " ",
            "\n",
            "(",
            ")",
            "'",
            "#",
            ",",
            "\n    op.drop_table('t')",
            "\n    with op.get_context().autocommit_block():\n        ",
            "\n    with op.batch_alter_table('t') as batch_op:\n        ",
            "batch_op.drop_column('c')\n    ",
            "import op\n",
            "é",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        let (mut files, mut edits) = (0, 0);
        REUSED.with(|n| n.set(0));
        for path in crate::migration::python_fixtures() {
            let Ok(mut text) = std::fs::read_to_string(&path) else {
                continue;
            };
            files += 1;
            let mut previous = MigrationFile::parse(text.clone());
            for _ in 0..12 {
                let mut at = next(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if next(3) == 0 {
                    let mut end = (at + 1 + next(40)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                } else {
                    text.insert_str(at, INSERTS[next(INSERTS.len())]);
                }
                let tree = syntax::parse(&text, None);
                let fresh = MigrationFile::from_tree(text.clone(), &tree);
                let reused = MigrationFile::from_tree_reusing(text.clone(), &tree, Some(&previous));
                let at = path.display();
                assert_eq!(reused.ops, fresh.ops, "{at} after {edits} edits:\n{text}");
                assert_eq!(reused.helper_calls, fresh.helper_calls, "{at}:\n{text}");
                edits += 1;
                previous = reused;
            }
        }
        assert!(files > 150, "only {files} fixtures");
        let reused = REUSED.with(|n| n.get());
        // The comparison above is only worth something where reuse happened.
        assert!(
            reused > edits / 2,
            "only {reused} operations reused over {edits} edits"
        );
    }

    /// A keystroke in a comment of the 1,054-line benchmark migration models
    /// no statement again.
    #[test]
    fn a_keystroke_reuses_every_unchanged_statement() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/bench/big_migration.py"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let previous = MigrationFile::parse(text.clone());
        let at = text.find("    op.create_table(").unwrap();
        let mut edited = text.clone();
        edited.insert_str(at, "    # a note\n");
        let tree = syntax::parse(&edited, None);
        REUSED.with(|n| n.set(0));
        let reused = MigrationFile::from_tree_reusing(edited.clone(), &tree, Some(&previous));
        let all = reused.ops.len() + reused.helper_calls.len();
        // Those of `with` headers are found again by the walk.
        let headers = reused
            .ops
            .iter()
            .filter(|o| matches!(o.method.as_str(), "batch_alter_table" | "get_context"))
            .count();
        assert!(all > 500 && headers < 100);
        assert_eq!(REUSED.with(|n| n.get()), all - headers);
        assert_eq!(reused.ops, MigrationFile::from_tree(edited, &tree).ops);
    }

    const SOURCE: &str = r#"
from alembic import op
import sqlalchemy as sa
from app.core.migrations import create_index_concurrently


def upgrade():
    op.drop_table("legacy")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("age")
    with op.get_context().autocommit_block():
        op.create_index("ix", "t", ["a"], postgresql_concurrently=True)
    op.add_column("t", sa.Column("c", sa.Integer(), nullable=False))
    create_index_concurrently("ix2", "t", ["b"])


def downgrade():
    pass
"#;

    #[test]
    fn mentions_any_finds_whole_names_only() {
        use super::mentions_any;
        let yes = |text: &str, names: &[&str]| mentions_any(text.as_bytes(), names.iter().copied());
        assert!(yes("sa.Column(op.f('ix'))", &["op"]));
        assert!(yes("x(op .f())", &["op"]));
        assert!(yes("op", &["op"]));
        assert!(yes("f(b.drop_column('x'))", &["op", "b"]));
        assert!(yes("f(self.b.x())", &["self.b"]));
        assert!(!yes(
            "sa.Column('drop', sa.Integer(), nullable=False)",
            &["op"]
        ));
        assert!(!yes("f(op_x, xop, éop)", &["op"]));
        assert!(!yes("f()", &[]));
    }

    #[test]
    fn operations_nested_in_arguments_are_found() {
        let f = MigrationFile::parse(
            "from alembic import op as o\n\ndef upgrade():\n    \
             x = sa.table('t', sa.Column('a', server_default=o.inline_literal('v')))\n    \
             with o.batch_alter_table('t') as b:\n        \
             print(str(b.drop_column('c')))\n"
                .into(),
        );
        let methods: Vec<_> = f.ops.iter().map(|o| o.method.as_str()).collect();
        assert_eq!(
            methods,
            ["inline_literal", "batch_alter_table", "drop_column"]
        );
    }

    #[test]
    fn operations_with_context() {
        let f = MigrationFile::parse(SOURCE.into());
        assert_eq!(f.functions.len(), 2);
        assert_eq!(f.functions[0].kind, FunctionKind::Upgrade);
        assert!(f.functions[1].is_empty);
        let methods: Vec<_> = f.ops.iter().map(|o| o.method.as_str()).collect();
        assert_eq!(
            methods,
            [
                "drop_table",
                "batch_alter_table",
                "drop_column",
                "get_context",
                "create_index",
                "add_column"
            ]
        );
        assert_eq!(f.ops[0].table(), Some("legacy"));
        assert_eq!(f.ops[2].table(), Some("users"));
        assert_eq!(
            f.ops[2].arg("column_name").and_then(|a| a.as_str()),
            Some("age")
        );
        assert!(matches!(f.ops[2].receiver, Receiver::Batch { .. }));
        assert!(f.ops[4].in_autocommit);
        assert!(f.ops[4].kwarg("postgresql_concurrently").unwrap().is_true());
        let column = f.ops[5].arg("column").unwrap().as_call().unwrap();
        assert_eq!(column.callee_name(), "Column");
        assert!(matches!(
            column.kwarg("nullable"),
            Some(crate::migration::Expr::Bool(false, _))
        ));
        assert_eq!(f.helper_calls.len(), 1);
        assert_eq!(
            f.helper_calls[0].method,
            "app.core.migrations.create_index_concurrently"
        );
    }
}

//! The tree-sitter layer: parsing Python text, the compiled queries, and small
//! helpers over nodes. Nothing above this module touches tree-sitter's API
//! beyond `Node`.

pub mod edit;
pub mod kinds;
pub mod pystring;
pub mod recover;

pub use kinds::{fields, kinds};

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use tree_sitter::{Language, Node, ParseOptions, ParseState, Parser, Query, Tree};

use crate::position::TextRange;

pub fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

fn new_parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&language())
        .expect("tree-sitter-python is ABI-compatible with tree-sitter");
    parser
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(new_parser());
}

/// Parses `text`, reusing `old` (already edited with `Tree::edit`) when given.
pub fn parse(text: &str, old: Option<&Tree>) -> Tree {
    let normalized = normalize_lone_cr(text);
    PARSER.with(|parser| {
        parser
            .borrow_mut()
            .parse(normalized.as_deref().unwrap_or(text), old)
            .expect("parsing without a timeout or cancellation flag always yields a tree")
    })
}

thread_local! {
    /// The parser of work that can wait ([`parse_resumable`]), apart from
    /// [`PARSER`] so that a parse given up never lingers in that one; with
    /// the key of the parse it gave up, if any.
    static RESUMABLE: RefCell<(Parser, Option<u128>)> = RefCell::new((new_parser(), None));
}

/// [`parse`], given up (`None`) as soon as `stop` says so: for work that can
/// wait, such as confirming a model the editor already published. A parse
/// given up is resumed by the next call with the same `key`, which must
/// stand for the same text and `old` tree (tree-sitter keeps its state); a
/// call with another key starts over.
pub fn parse_resumable(
    text: &str,
    old: Option<&Tree>,
    stop: &dyn Fn() -> bool,
    key: u128,
) -> Option<Tree> {
    let normalized = normalize_lone_cr(text);
    let bytes = normalized.as_deref().unwrap_or(text).as_bytes();
    RESUMABLE.with(|cell| {
        let (parser, paused) = &mut *cell.borrow_mut();
        if paused.take().is_some_and(|k| k != key) {
            parser.reset();
        }
        let mut progress = |_: &ParseState| {
            if stop() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let tree = parser.parse_with_options(
            &mut |i, _| bytes.get(i..).unwrap_or_default(),
            old,
            Some(ParseOptions::new().progress_callback(&mut progress)),
        );
        if tree.is_none() {
            *paused = Some(key);
        }
        tree
    })
}

/// Python reads a lone `\r` as a line break; tree-sitter-python does not.
/// Replacing it by `\n` keeps every byte offset the same.
fn normalize_lone_cr(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let lone = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    if !(0..bytes.len()).any(lone) {
        return None;
    }
    let fixed: Vec<u8> = (0..bytes.len())
        .map(|i| if lone(i) { b'\n' } else { bytes[i] })
        .collect();
    String::from_utf8(fixed).ok()
}

/// The queries of `queries/*.scm`, compiled once.
pub struct Queries {
    pub functions: Query,
}

pub fn queries() -> &'static Queries {
    static QUERIES: OnceLock<Queries> = OnceLock::new();
    QUERIES.get_or_init(|| {
        let compile = |name: &str, source: &str| {
            Query::new(&language(), source)
                .unwrap_or_else(|err| panic!("queries/{name}.scm does not compile: {err}"))
        };
        Queries {
            functions: compile("functions", include_str!("../../../queries/functions.scm")),
        }
    })
}

pub fn range(node: Node) -> TextRange {
    TextRange::new(node.start_byte(), node.end_byte())
}

pub fn text<'a>(node: Node, source: &'a str) -> &'a str {
    source.get(node.start_byte()..node.end_byte()).unwrap_or("")
}

/// The ERROR and MISSING nodes of a tree, outermost first. Only subtrees that
/// contain an error are visited, iteratively (no recursion: deeply nested
/// input must not overflow the stack).
pub fn syntax_errors(tree: &Tree) -> Vec<(TextRange, bool)> {
    let mut errors = Vec::new();
    let root = tree.root_node();
    if !root.has_error() {
        return errors;
    }
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_missing() {
            errors.push((range(node), true));
            continue;
        }
        if node.is_error() {
            errors.push((range(node), false));
            continue;
        }
        let mut cursor = node.walk();
        let children: Vec<Node> = node
            .children(&mut cursor)
            .filter(|c| c.has_error() || c.is_missing())
            .collect();
        stack.extend(children.into_iter().rev());
    }
    errors
}

/// `a.b.c` for an identifier or attribute chain, else `None`.
pub fn dotted_name(node: Node, source: &str) -> Option<String> {
    let (k, f) = (kinds(), fields());
    // Nearly always written without spaces or comments: then the text is the
    // name (when each part is an identifier: not `x.1.y` or `None.x`).
    let whole = text(node, source);
    if (node.kind_id() == k.identifier || node.kind_id() == k.attribute)
        && whole.split('.').all(|part| {
            part.bytes()
                .next()
                .is_some_and(|b| b == b'_' || b.is_ascii_alphabetic())
                && part.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
                && !matches!(part, "None" | "True" | "False")
        })
    {
        return Some(whole.to_owned());
    }
    let mut parts = Vec::new();
    let mut current = node;
    loop {
        let kind = current.kind_id();
        if kind == k.identifier {
            parts.push(text(current, source));
            break;
        } else if kind == k.attribute {
            parts.push(text(current.child_by_field_id(f.attribute)?, source));
            current = current.child_by_field_id(f.object)?;
        } else {
            return None;
        }
        if parts.len() > 32 {
            return None;
        }
    }
    parts.reverse();
    Some(parts.join("."))
}

/// Skips parentheses around an expression.
pub fn unparenthesize(mut node: Node) -> Node {
    let k = kinds();
    while node.kind_id() == k.parenthesized_expression {
        match node.named_child(0) {
            Some(inner) if inner.kind_id() != k.comment => node = inner,
            _ => break,
        }
    }
    node
}

/// Named children that are not comments.
pub fn children(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|c| c.kind_id() != kinds().comment)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_compiles() {
        let q = queries();
        assert!(q.functions.capture_index_for_name("name").is_some());
    }

    #[test]
    fn dotted_names() {
        let name = |code: &str| {
            let tree = parse(code, None);
            let expr = tree
                .root_node()
                .named_child(0)
                .unwrap()
                .named_child(0)
                .unwrap();
            dotted_name(expr, code)
        };
        assert_eq!(
            name("sa.types.Integer").as_deref(),
            Some("sa.types.Integer")
        );
        assert_eq!(name("op").as_deref(), Some("op"));
        assert_eq!(
            name("sa . types.\\\n  Integer").as_deref(),
            Some("sa.types.Integer")
        );
        assert_eq!(name("é.x").as_deref(), Some("é.x"));
        assert_eq!(name("None.x"), None);
        assert_eq!(name("a().b"), None);
        assert_eq!(name("a[0].b"), None);
        assert_eq!(name("'s'.join"), None);
    }

    #[test]
    fn a_parse_given_up_is_resumed_by_its_key_only() {
        let long = "x = f(1, 2)\n".repeat(20_000);
        let fresh = parse(&long, None).root_node().to_sexp();
        assert!(parse_resumable(&long, None, &|| true, 1).is_none());
        // Another key starts over.
        let short = "y = 1\n";
        let tree = parse_resumable(short, None, &|| false, 2).expect("not given up");
        assert_eq!(
            tree.root_node().to_sexp(),
            parse(short, None).root_node().to_sexp()
        );
        assert_eq!(tree.root_node().end_byte(), short.len());
        // The same key goes on where it stopped: given up after a few
        // progress reports each time, it still ends, with the whole tree.
        let calls = std::cell::Cell::new(0);
        let stop = || {
            calls.set(calls.get() + 1);
            calls.get() % 50 == 0
        };
        let mut tries = 0;
        let tree = loop {
            tries += 1;
            if let Some(tree) = parse_resumable(&long, None, &stop, 3) {
                break tree;
            }
        };
        assert!(tries > 2, "{tries}");
        assert_eq!(tree.root_node().to_sexp(), fresh);
        assert_eq!(tree.root_node().end_byte(), long.len());
    }

    #[test]
    fn syntax_errors_are_found_without_recursion() {
        let deep = format!("x = {}1{}\n", "(".repeat(5000), ")".repeat(4999));
        let tree = parse(&deep, None);
        assert!(!syntax_errors(&tree).is_empty());
        let lone_cr = parse("revision = 'a'\rdown_revision = None\r", None);
        assert!(syntax_errors(&lone_cr).is_empty());
        let ok = parse("revision = 'a'\n", None);
        assert!(syntax_errors(&ok).is_empty());
    }
}

//! Node kinds and field names as tree-sitter's numeric ids, looked up once.
//! `Node::kind()` goes through a C string (`strlen` + UTF-8 check) and
//! `child_by_field_name` through a name search on every call; in the walk
//! over a 1,000-line migration those were a fifth of building its model.

use std::sync::OnceLock;

use tree_sitter::Language;

macro_rules! ids {
    (kinds { $($kind:ident = $kind_text:literal,)* } fields { $($field:ident,)* }) => {
        /// Named node kinds by id ([`tree_sitter::Node::kind_id`]).
        pub struct Kinds { $(pub $kind: u16,)* }
        /// Field ids ([`tree_sitter::Node::child_by_field_id`]).
        pub struct Fields { $(pub $field: u16,)* }

        impl Kinds {
            fn load(language: &Language) -> Kinds {
                Kinds { $($kind: kind_id(language, $kind_text),)* }
            }

            /// Every kind with its name (for the test that ids and names agree).
            pub fn table(&self) -> Vec<(&'static str, u16)> {
                vec![$(($kind_text, self.$kind),)*]
            }
        }

        impl Fields {
            fn load(language: &Language) -> Fields {
                Fields { $($field: field_id(language, stringify!($field)),)* }
            }
        }
    };
}

ids! {
    kinds {
        argument_list = "argument_list",
        attribute = "attribute",
        await_ = "await",
        block = "block",
        call = "call",
        comment = "comment",
        concatenated_string = "concatenated_string",
        expression_statement = "expression_statement",
        false_ = "false",
        identifier = "identifier",
        keyword_argument = "keyword_argument",
        list = "list",
        none = "none",
        parenthesized_expression = "parenthesized_expression",
        set = "set",
        string = "string",
        true_ = "true",
        tuple = "tuple",
        with_statement = "with_statement",
    }
    fields {
        arguments,
        attribute,
        body,
        function,
        name,
        object,
        value,
    }
}

fn kind_id(language: &Language, kind: &str) -> u16 {
    let id = language.id_for_node_kind(kind, true);
    assert!(id != 0, "tree-sitter-python has no node kind {kind}");
    id
}

fn field_id(language: &Language, field: &str) -> u16 {
    language
        .field_id_for_name(field)
        .unwrap_or_else(|| panic!("tree-sitter-python has no field {field}"))
        .get()
}

pub fn kinds() -> &'static Kinds {
    static KINDS: OnceLock<Kinds> = OnceLock::new();
    KINDS.get_or_init(|| Kinds::load(&super::language()))
}

pub fn fields() -> &'static Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS.get_or_init(|| Fields::load(&super::language()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tree_sitter::Node;

    /// Every node of the rule fixtures (and of identifiers that are soft
    /// keywords elsewhere: aliased symbols) has the id of its name, and only it.
    #[test]
    fn ids_agree_with_names_on_every_fixture_node() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/rules");
        let mut texts = vec![
            "match = print = exec = type = 1\nmatch(x)\nprint('a', *b, **c)\n\
             with (a as b, c): pass\nx = f'{a!r}' 'b' \"c\"\nawait (op.f())\n"
                .to_owned(),
        ];
        for rule in std::fs::read_dir(root).unwrap() {
            for file in std::fs::read_dir(rule.unwrap().path()).unwrap() {
                texts.push(std::fs::read_to_string(file.unwrap().path()).unwrap_or_default());
            }
        }
        let table = kinds().table();
        let mut seen = 0;
        for text in &texts {
            let tree = super::super::parse(text, None);
            let mut stack: Vec<Node> = vec![tree.root_node()];
            while let Some(node) = stack.pop() {
                for (name, id) in &table {
                    if node.is_named() {
                        assert_eq!(
                            node.kind() == *name,
                            node.kind_id() == *id,
                            "{name} at {node:?}"
                        );
                    }
                }
                seen += 1;
                let mut cursor = node.walk();
                stack.extend(node.children(&mut cursor));
            }
        }
        assert!(seen > 10_000, "only {seen} nodes");
    }
}

//! SQL inside `op.execute(...)`: the string literal (plain, `sa.text(...)` or
//! `text(...)`; implicitly concatenated and triple-quoted ones are already
//! joined by the model) is split into statements and parsed with sqlparser's
//! PostgreSQL dialect. Each statement becomes the schema changes the rules care
//! about, with ranges in the Python source, so a finding points at the exact
//! characters inside the string.
//!
//! sqlparser decides what a statement is; its tokens give the positions (its
//! AST spans are incomplete for DDL). A statement sqlparser rejects (it does
//! not know `DROP INDEX CONCURRENTLY` or `UNIQUE USING INDEX`, for instance)
//! falls back to a scan of its top-level keywords; a string that does not
//! even tokenize is skipped. Unparseable SQL is never a finding of its own.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ObjectName, ObjectType, Statement, TableConstraint,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::migration::{Expr, OpCall};
use crate::position::TextRange;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    ForeignKey,
    Check,
    Unique,
    PrimaryKey,
}

impl ConstraintKind {
    pub fn sql(self) -> &'static str {
        match self {
            ConstraintKind::ForeignKey => "FOREIGN KEY",
            ConstraintKind::Check => "CHECK",
            ConstraintKind::Unique => "UNIQUE",
            ConstraintKind::PrimaryKey => "PRIMARY KEY",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    CreateTable,
    DropTable,
    DropColumn,
    AlterColumnType,
    CreateIndex,
    DropIndex,
    /// Another statement that may say `CONCURRENTLY` and then refuses to run
    /// in a transaction: `REINDEX`, `ALTER TABLE … DETACH PARTITION`.
    OtherConcurrent,
    AddConstraint(ConstraintKind),
    /// `ALTER TABLE … RENAME TO` / `RENAME [COLUMN] … TO`.
    Rename,
}

/// One thing a SQL statement does, in value coordinates until mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlChange {
    pub kind: ChangeKind,
    /// The table worked on: the last part of its name, lowercased unless quoted.
    pub table: Option<String>,
    /// The index created or dropped, normalised like `table`.
    pub index: Option<String>,
    /// The statement, or the `ALTER TABLE` clause, in the Python source.
    pub range: TextRange,
    pub concurrently: bool,
    pub not_valid: bool,
    /// `ADD CONSTRAINT … USING INDEX`: attaches an index built beforehand.
    pub using_index: bool,
    /// Where ` CONCURRENTLY` can be inserted (right after `INDEX`), when the
    /// statement allows it.
    pub concurrently_at: Option<usize>,
    /// Where ` NOT VALID` can be inserted (the end of the clause).
    pub not_valid_at: Option<usize>,
    /// The statement's text, for messages (one line, shortened).
    pub snippet: String,
}

/// An `op.execute` call whose SQL is a literal.
#[derive(Debug)]
pub struct ExecutedSql<'a> {
    pub op: &'a OpCall,
    /// The number of statements in the string.
    pub statement_count: usize,
    /// Whether a statement creates, alters or drops something.
    pub ddl: bool,
    pub changes: Vec<SqlChange>,
}

/// What a SQL string holds, in value coordinates.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub statement_count: usize,
    pub ddl: bool,
    pub changes: Vec<SqlChange>,
}

impl<'a> ExecutedSql<'a> {
    /// The SQL of `op.execute("...")`, `op.execute(sa.text("..."))` or
    /// `op.execute(text("..."))`; `None` for anything else.
    pub fn of(op: &'a OpCall) -> Option<ExecutedSql<'a>> {
        if op.method != "execute" {
            return None;
        }
        let literal = match op.arg("sqltext")? {
            Expr::Str(s) => s,
            Expr::Call(call) if call.callee_name() == "text" => {
                match call.args.first().or_else(|| call.kwarg("text"))? {
                    Expr::Str(s) => s,
                    _ => return None,
                }
            }
            _ => return None,
        };
        let Analysis {
            statement_count,
            ddl,
            mut changes,
        } = analyse_cached(&literal.value);
        for change in &mut changes {
            change.range = literal.source_range(change.range);
            change.concurrently_at = change.concurrently_at.map(|at| literal.source_offset(at));
            change.not_valid_at = change.not_valid_at.map(|at| literal.source_offset(at));
        }
        Some(ExecutedSql {
            op,
            statement_count,
            ddl,
            changes,
        })
    }
}

/// A token that is not whitespace, with its byte range in the SQL and its
/// parenthesis depth.
#[derive(Clone, Debug)]
struct Tok {
    token: Token,
    range: TextRange,
    depth: usize,
}

impl Tok {
    /// The keyword, upper-case, for an unquoted word.
    fn keyword(&self) -> Option<String> {
        match &self.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn is(&self, keyword: &str) -> bool {
        self.depth == 0 && self.keyword().is_some_and(|k| k == keyword)
    }

    /// A name as PostgreSQL folds it.
    fn name(&self) -> Option<String> {
        match &self.token {
            Token::Word(w) if w.quote_style.is_some() => Some(w.value.clone()),
            Token::Word(w) => Some(w.value.to_lowercase()),
            _ => None,
        }
    }
}

/// Byte offsets of sqlparser's 1-based line / code-point column locations.
struct Locations {
    char_starts: Vec<usize>,
    line_first_char: Vec<usize>,
    len: usize,
}

impl Locations {
    fn new(sql: &str) -> Locations {
        let mut char_starts = Vec::with_capacity(sql.len());
        let mut line_first_char = vec![0];
        for (i, (offset, c)) in sql.char_indices().enumerate() {
            char_starts.push(offset);
            if c == '\n' {
                line_first_char.push(i + 1);
            }
        }
        Locations {
            char_starts,
            line_first_char,
            len: sql.len(),
        }
    }

    fn offset(&self, at: Location) -> usize {
        let (line, column) = (at.line as usize, at.column as usize);
        let Some(first) = line
            .checked_sub(1)
            .and_then(|l| self.line_first_char.get(l))
        else {
            return self.len;
        };
        let index = first + column.saturating_sub(1);
        self.char_starts.get(index).copied().unwrap_or(self.len)
    }
}

/// [`analyse`], remembered per thread for the last few hundred strings: the
/// language server checks an open file again on every keystroke, and its SQL
/// strings have not changed.
fn analyse_cached(sql: &str) -> Analysis {
    use std::cell::RefCell;
    use std::collections::HashMap;
    const KEPT: usize = 512;
    thread_local! {
        static SEEN: RefCell<HashMap<String, Analysis>> = RefCell::new(HashMap::new());
    }
    if let Some(known) = SEEN.with(|seen| seen.borrow().get(sql).cloned()) {
        return known;
    }
    let analysis = analyse(sql);
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if seen.len() >= KEPT {
            seen.clear();
        }
        seen.insert(sql.to_owned(), analysis.clone());
    });
    analysis
}

/// The statements of a SQL string and their changes (ranges in the string).
pub fn analyse(sql: &str) -> Analysis {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize_with_location() else {
        return Analysis::default();
    };
    let locations = Locations::new(sql);
    let mut analysis = Analysis::default();
    // One parser over all the tokens; `base` is the index of its first token
    // in `tokens` (it restarts after a statement it rejected, in the rare
    // case it read past that statement's end).
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens.clone());
    let mut base = 0;
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        if parser.peek_token().token == Token::EOF {
            break;
        }
        let from = base + parser.index();
        let parsed = parser
            .parse_statement()
            .ok()
            .filter(|_| matches!(parser.peek_token().token, Token::SemiColon | Token::EOF));
        let to = match parsed {
            Some(_) => (base + parser.index()).min(tokens.len()),
            None => next_delimiter(&tokens, from),
        };
        if parsed.is_none() {
            if base + parser.index() <= to {
                while base + parser.index() < to {
                    parser.next_token_no_skip();
                }
            } else {
                parser = Parser::new(&dialect).with_tokens_with_locations(tokens[to..].to_vec());
                base = to;
            }
        }
        let toks = significant(&tokens[from..to], &locations);
        if !toks.is_empty() {
            analysis.statement_count += 1;
            analysis.ddl |= ["CREATE", "ALTER", "DROP"].iter().any(|k| toks[0].is(k));
            let snippet = snippet(sql, &toks);
            let found = parsed
                .as_ref()
                .and_then(|s| from_statement(s, &toks))
                .unwrap_or_else(|| from_keywords(&toks));
            analysis.changes.extend(found.into_iter().map(|mut c| {
                c.snippet = snippet.clone();
                c
            }));
        }
        if to >= tokens.len() {
            break;
        }
    }
    analysis
}

/// The index of the next top-level `;` at or after `from` (or the end).
fn next_delimiter(tokens: &[TokenWithSpan], from: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(from) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::SemiColon if depth == 0 => return i,
            _ => {}
        }
    }
    tokens.len()
}

fn significant(tokens: &[TokenWithSpan], locations: &Locations) -> Vec<Tok> {
    let mut depth = 0usize;
    let mut out = Vec::new();
    for t in tokens {
        let token_depth = match t.token {
            Token::Whitespace(_) | Token::EOF | Token::SemiColon => continue,
            Token::LParen => {
                depth += 1;
                depth - 1
            }
            Token::RParen => {
                depth = depth.saturating_sub(1);
                depth
            }
            _ => depth,
        };
        let start = locations.offset(t.span.start);
        let end = locations.offset(t.span.end).max(start);
        out.push(Tok {
            token: t.token.clone(),
            range: TextRange::new(start, end),
            depth: token_depth,
        });
    }
    out
}

fn snippet(sql: &str, toks: &[Tok]) -> String {
    let text = &sql[toks[0].range.start..toks[toks.len() - 1].range.end];
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

fn span(toks: &[Tok]) -> TextRange {
    TextRange::new(toks[0].range.start, toks[toks.len() - 1].range.end)
}

fn change(kind: ChangeKind, toks: &[Tok]) -> SqlChange {
    SqlChange {
        kind,
        table: None,
        index: None,
        range: span(toks),
        concurrently: false,
        not_valid: false,
        using_index: false,
        concurrently_at: None,
        not_valid_at: None,
        snippet: String::new(),
    }
}

fn last_name(name: &ObjectName) -> Option<String> {
    let ident = name.0.last()?.as_ident()?;
    Some(match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    })
}

/// The position of the first top-level `keyword` in `toks`.
fn find(toks: &[Tok], keyword: &str) -> Option<usize> {
    toks.iter().position(|t| t.is(keyword))
}

/// Where ` CONCURRENTLY` goes in `CREATE INDEX` / `DROP INDEX`: after `INDEX`.
fn after_index_keyword(toks: &[Tok]) -> Option<usize> {
    find(toks, "INDEX").map(|i| toks[i].range.end)
}

/// Changes from sqlparser's AST; `None` when the tokens do not line up with
/// it (the keyword scan then decides).
fn from_statement(statement: &Statement, toks: &[Tok]) -> Option<Vec<SqlChange>> {
    let mut out = Vec::new();
    match statement {
        Statement::CreateTable(create) => {
            let mut c = change(ChangeKind::CreateTable, toks);
            c.table = last_name(&create.name);
            out.push(c);
        }
        Statement::CreateIndex(create) => {
            let mut c = change(ChangeKind::CreateIndex, toks);
            c.table = last_name(&create.table_name);
            c.index = create.name.as_ref().and_then(last_name);
            c.concurrently = create.concurrently;
            c.concurrently_at = after_index_keyword(toks).filter(|_| !create.concurrently);
            out.push(c);
        }
        Statement::Drop {
            object_type,
            names,
            cascade,
            ..
        } => match object_type {
            ObjectType::Table => {
                let mut c = change(ChangeKind::DropTable, toks);
                c.table = names.first().and_then(last_name);
                out.push(c);
            }
            ObjectType::Index => {
                let mut c = change(ChangeKind::DropIndex, toks);
                c.index = names.first().and_then(last_name);
                // `DROP INDEX CONCURRENTLY` takes one index and no CASCADE.
                if names.len() == 1 && !*cascade {
                    c.concurrently_at = after_index_keyword(toks);
                }
                out.push(c);
            }
            _ => {}
        },
        Statement::AlterTable {
            name, operations, ..
        } => {
            let table = last_name(name);
            let clauses = alter_table_clauses(toks)?;
            if clauses.len() != operations.len() {
                return None;
            }
            for (operation, clause) in operations.iter().zip(clauses) {
                let kind = match operation {
                    AlterTableOperation::DropColumn { .. } => ChangeKind::DropColumn,
                    AlterTableOperation::AlterColumn {
                        op: AlterColumnOperation::SetDataType { .. },
                        ..
                    } => ChangeKind::AlterColumnType,
                    AlterTableOperation::RenameColumn { .. }
                    | AlterTableOperation::RenameTable { .. } => ChangeKind::Rename,
                    AlterTableOperation::AddConstraint { constraint, .. } => match constraint {
                        TableConstraint::ForeignKey { .. } => {
                            ChangeKind::AddConstraint(ConstraintKind::ForeignKey)
                        }
                        TableConstraint::Check { .. } => {
                            ChangeKind::AddConstraint(ConstraintKind::Check)
                        }
                        TableConstraint::Unique { .. } => {
                            ChangeKind::AddConstraint(ConstraintKind::Unique)
                        }
                        TableConstraint::PrimaryKey { .. } => {
                            ChangeKind::AddConstraint(ConstraintKind::PrimaryKey)
                        }
                        _ => continue,
                    },
                    _ => continue,
                };
                let mut c = change(kind, clause);
                c.table = table.clone();
                if let AlterTableOperation::AddConstraint { not_valid, .. } = operation {
                    c.not_valid = *not_valid;
                    c.not_valid_at = (!not_valid).then(|| span(clause).end);
                }
                out.push(c);
            }
        }
        _ => {
            // Statements the AST has no room for (`REINDEX … CONCURRENTLY`)
            // are left to the keyword scan.
            return (toks[0].is("REINDEX")).then(|| from_keywords(toks));
        }
    }
    Some(out)
}

/// The clauses of `ALTER TABLE [IF EXISTS] [ONLY] name [*] clause, clause…`.
fn alter_table_clauses(toks: &[Tok]) -> Option<Vec<&[Tok]>> {
    if !(toks.len() > 2 && toks[0].is("ALTER") && toks[1].is("TABLE")) {
        return None;
    }
    let mut i = alter_table_name_at(toks);
    // The name: word (. word)*, then an optional `*`.
    i += 1;
    while toks.get(i).is_some_and(|t| t.token == Token::Period) {
        i += 2;
    }
    if toks.get(i).is_some_and(|t| t.token == Token::Mul) {
        i += 1;
    }
    let rest = toks.get(i..).filter(|r| !r.is_empty())?;
    Some(
        rest.split(|t| t.depth == 0 && t.token == Token::Comma)
            .filter(|c| !c.is_empty())
            .collect(),
    )
}

/// The table name of `ALTER TABLE …` (see [`alter_table_clauses`]).
fn alter_table_name(toks: &[Tok]) -> Option<String> {
    dotted_name(toks, alter_table_name_at(toks))
}

/// Where the name of `ALTER TABLE [IF EXISTS] [ONLY] name` starts.
fn alter_table_name_at(toks: &[Tok]) -> usize {
    let mut i = 2;
    if toks.get(i).is_some_and(|t| t.is("IF")) {
        i += 2;
    }
    if toks.get(i).is_some_and(|t| t.is("ONLY")) {
        i += 1;
    }
    i
}

/// The last part of the dotted name `word (. word)*` that starts at `i`
/// (`t` of `public.t`).
fn dotted_name(toks: &[Tok], mut i: usize) -> Option<String> {
    let mut name = toks.get(i)?.name();
    while toks.get(i + 1).is_some_and(|t| t.token == Token::Period) {
        i += 2;
        name = toks.get(i)?.name();
    }
    name
}

/// The name after `keyword` (skipping `IF [NOT] EXISTS` and `ONLY`).
fn name_after(toks: &[Tok], keyword: &str) -> Option<String> {
    let mut i = find(toks, keyword)? + 1;
    while toks.get(i).and_then(Tok::keyword).is_some_and(|k| {
        matches!(
            k.as_str(),
            "IF" | "NOT" | "EXISTS" | "ONLY" | "CONCURRENTLY"
        )
    }) {
        i += 1;
    }
    dotted_name(toks, i)
}

/// The fallback: the top-level keywords of a statement sqlparser rejected.
fn from_keywords(toks: &[Tok]) -> Vec<SqlChange> {
    let words: Vec<String> = toks
        .iter()
        .take(8)
        .map(|t| {
            if t.depth == 0 {
                t.keyword().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .collect();
    let starts = |prefix: &[&str]| {
        let mut i = 0;
        prefix.iter().all(|p| {
            // `CREATE [UNIQUE] INDEX`, `CREATE [TEMP|UNLOGGED] TABLE`: optional words.
            while words.get(i).is_some_and(|w| {
                matches!(
                    w.as_str(),
                    "UNIQUE" | "TEMP" | "TEMPORARY" | "UNLOGGED" | "GLOBAL" | "LOCAL"
                )
            }) && *p != words[i]
            {
                i += 1;
            }
            let ok = words.get(i).is_some_and(|w| w == p);
            i += 1;
            ok
        })
    };
    let mut out = Vec::new();
    let concurrently = find(toks, "CONCURRENTLY").is_some();
    if starts(&["CREATE", "INDEX"]) {
        let mut c = change(ChangeKind::CreateIndex, toks);
        c.table = name_after(toks, "ON");
        c.index = find(toks, "INDEX")
            .and_then(|i| toks.get(i + 1))
            .filter(|t| !t.is("ON"))
            .and_then(|_| name_after(toks, "INDEX"));
        c.concurrently = concurrently;
        c.concurrently_at = after_index_keyword(toks).filter(|_| !concurrently);
        out.push(c);
    } else if starts(&["CREATE", "TABLE"]) {
        let mut c = change(ChangeKind::CreateTable, toks);
        c.table = name_after(toks, "TABLE");
        out.push(c);
    } else if starts(&["DROP", "TABLE"]) {
        let mut c = change(ChangeKind::DropTable, toks);
        c.table = name_after(toks, "TABLE");
        out.push(c);
    } else if starts(&["DROP", "INDEX"]) {
        let mut c = change(ChangeKind::DropIndex, toks);
        c.index = name_after(toks, "INDEX");
        c.concurrently = concurrently;
        let single = !toks.iter().any(|t| t.depth == 0 && t.token == Token::Comma);
        if !concurrently && single && find(toks, "CASCADE").is_none() {
            c.concurrently_at = after_index_keyword(toks);
        }
        out.push(c);
    } else if starts(&["REINDEX"]) && concurrently {
        let mut c = change(ChangeKind::OtherConcurrent, toks);
        c.concurrently = true;
        out.push(c);
    } else if let Some(clauses) = alter_table_clauses(toks) {
        let table = alter_table_name(toks);
        for clause in clauses {
            if let Some(mut c) = alter_table_clause(clause) {
                c.table = table.clone();
                out.push(c);
            }
        }
    }
    out
}

fn alter_table_clause(clause: &[Tok]) -> Option<SqlChange> {
    let word = |i: usize| {
        clause
            .get(i)
            .filter(|t| t.depth == 0)
            .and_then(Tok::keyword)
    };
    let first = word(0)?;
    let kind = match first.as_str() {
        // PostgreSQL drops a column or a constraint; the other forms are
        // MySQL's (`DROP PRIMARY KEY`, `DROP INDEX`, …).
        "DROP" => match word(1).as_deref() {
            Some(
                "CONSTRAINT" | "PRIMARY" | "FOREIGN" | "INDEX" | "KEY" | "CHECK" | "PARTITION"
                | "DEFAULT" | "TRIGGER",
            ) => return None,
            _ => ChangeKind::DropColumn,
        },
        "ALTER" => {
            let type_at = find(clause, "TYPE")?;
            // `ALTER [COLUMN] c [SET DATA] TYPE t`, not `SET DEFAULT 'TYPE'`.
            let before = word(type_at - 1);
            let plain = type_at <= 3 && before.as_deref() != Some("SET");
            if !(plain || before.as_deref() == Some("DATA")) {
                return None;
            }
            ChangeKind::AlterColumnType
        }
        "ADD" => {
            let mut i = 1;
            if word(1).as_deref() == Some("CONSTRAINT") {
                i = 3;
            }
            let kind = match word(i).as_deref() {
                Some("FOREIGN") => ConstraintKind::ForeignKey,
                Some("CHECK") => ConstraintKind::Check,
                Some("UNIQUE") => ConstraintKind::Unique,
                Some("PRIMARY") => ConstraintKind::PrimaryKey,
                _ => return None,
            };
            ChangeKind::AddConstraint(kind)
        }
        "RENAME" => match word(1).as_deref() {
            Some("CONSTRAINT") => return None,
            _ => ChangeKind::Rename,
        },
        "DETACH" if find(clause, "CONCURRENTLY").is_some() => ChangeKind::OtherConcurrent,
        _ => return None,
    };
    let mut c = change(kind, clause);
    if let ChangeKind::AddConstraint(_) = kind {
        let n = clause.len();
        c.not_valid = n >= 2 && clause[n - 2].is("NOT") && clause[n - 1].is("VALID");
        c.using_index = clause
            .windows(2)
            .any(|w| w[0].is("USING") && w[1].is("INDEX"));
        c.not_valid_at = (!c.not_valid && !c.using_index).then(|| span(clause).end);
    }
    c.concurrently = kind == ChangeKind::OtherConcurrent;
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(ChangeKind, Option<String>, bool, String)> {
        analyse(sql)
            .changes
            .into_iter()
            .map(|c| {
                let text = sql[c.range.start..c.range.end].to_owned();
                (
                    c.kind,
                    c.table,
                    c.concurrently || c.not_valid || c.using_index,
                    text,
                )
            })
            .collect()
    }

    #[test]
    fn statements_are_split_and_located() {
        let sql = "CREATE TABLE t (id int);\n  DROP TABLE legacy ;ALTER TABLE \"Users\" DROP COLUMN age, ALTER COLUMN name TYPE text";
        let found = kinds(sql);
        assert_eq!(
            found,
            [
                (
                    ChangeKind::CreateTable,
                    Some("t".into()),
                    false,
                    "CREATE TABLE t (id int)".into()
                ),
                (
                    ChangeKind::DropTable,
                    Some("legacy".into()),
                    false,
                    "DROP TABLE legacy".into()
                ),
                (
                    ChangeKind::DropColumn,
                    Some("Users".into()),
                    false,
                    "DROP COLUMN age".into()
                ),
                (
                    ChangeKind::AlterColumnType,
                    Some("Users".into()),
                    false,
                    "ALTER COLUMN name TYPE text".into()
                ),
            ]
        );
        assert_eq!(analyse(sql).statement_count, 3);
    }

    #[test]
    fn indexes_and_concurrently() {
        let found = kinds("CREATE UNIQUE INDEX CONCURRENTLY ix ON public.t (a); DROP INDEX CONCURRENTLY ix; DROP INDEX ix2");
        assert_eq!(found[0].0, ChangeKind::CreateIndex);
        assert_eq!(found[0].1.as_deref(), Some("t"));
        assert!(found[0].2);
        assert_eq!(found[1].0, ChangeKind::DropIndex);
        assert!(found[1].2, "the keyword scan sees CONCURRENTLY");
        assert!(!found[2].2);
        let changes = analyse("create index ix on t (a)").changes;
        assert_eq!(changes[0].concurrently_at, Some("create index".len()));
        assert_eq!(changes[0].index.as_deref(), Some("ix"));
    }

    #[test]
    fn constraints() {
        let found = kinds(
            "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT VALID, \
             ADD CONSTRAINT ck CHECK (a > 0); \
             ALTER TABLE t ADD CONSTRAINT uq UNIQUE USING INDEX uq_ix; \
             ALTER TABLE ONLY t ADD PRIMARY KEY (id)",
        );
        let summary: Vec<_> = found.iter().map(|f| (f.0, f.2)).collect();
        assert_eq!(
            summary,
            [
                (ChangeKind::AddConstraint(ConstraintKind::ForeignKey), true),
                (ChangeKind::AddConstraint(ConstraintKind::Check), false),
                (ChangeKind::AddConstraint(ConstraintKind::Unique), true),
                (ChangeKind::AddConstraint(ConstraintKind::PrimaryKey), false),
            ]
        );
        assert_eq!(found[1].3, "ADD CONSTRAINT ck CHECK (a > 0)");
    }

    #[test]
    fn renames_and_other_statements() {
        let found = kinds(
            "ALTER TABLE t RENAME TO u; ALTER TABLE t RENAME COLUMN a TO b; \
             ALTER TABLE t RENAME CONSTRAINT a TO b; ALTER INDEX i RENAME TO j; \
             UPDATE t SET a = 1; REINDEX INDEX CONCURRENTLY i; \
             ALTER TABLE t ALTER COLUMN a SET DEFAULT 1; \
             ALTER TABLE t DETACH PARTITION p CONCURRENTLY; \
             REFRESH MATERIALIZED VIEW CONCURRENTLY v",
        );
        let summary: Vec<_> = found.iter().map(|f| f.0).collect();
        assert_eq!(
            summary,
            [
                ChangeKind::Rename,
                ChangeKind::Rename,
                ChangeKind::OtherConcurrent,
                ChangeKind::OtherConcurrent,
            ]
        );
    }

    #[test]
    fn unparseable_sql_is_not_an_error() {
        assert_eq!(kinds("this is not SQL; 'unterminated").len(), 0);
        assert_eq!(kinds("").len(), 0);
        let found = kinds("DO $$ BEGIN DROP TABLE x; END $$; DROP TABLE y");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.as_deref(), Some("y"));
    }

    #[test]
    fn mysql_drops_are_not_columns() {
        let found = kinds("ALTER TABLE `t` DROP INDEX `uq_a`, DROP PRIMARY KEY, DROP legacy, ADD UNIQUE `uq_b` (b)");
        let summary: Vec<_> = found.iter().map(|f| (f.0, f.3.as_str())).collect();
        assert_eq!(
            summary,
            [
                (ChangeKind::DropColumn, "DROP legacy"),
                (
                    ChangeKind::AddConstraint(ConstraintKind::Unique),
                    "ADD UNIQUE `uq_b` (b)"
                ),
            ]
        );
    }

    #[test]
    fn many_statements_are_linear() {
        let sql = "INSERT INTO t VALUES (1); nonsense here; ".repeat(5000) + "DROP TABLE t";
        let analysis = analyse(&sql);
        assert_eq!(analysis.statement_count, 10_001);
        assert_eq!(analysis.changes.len(), 1);
    }

    #[test]
    fn non_ascii_keeps_offsets() {
        let sql = "-- é\nDROP TABLE \"tablé\"";
        let changes = analyse(sql).changes;
        assert_eq!(
            &sql[changes[0].range.start..changes[0].range.end],
            "DROP TABLE \"tablé\""
        );
    }
}

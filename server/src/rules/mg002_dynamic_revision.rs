use crate::diagnostic::Diagnostic;
use crate::migration::DeclValue;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Flags a `revision`, `down_revision`, `branch_labels` or `depends_on`
    /// whose value is not a literal the tool can read: a call, an f-string,
    /// a name imported from elsewhere, string arithmetic.
    ///
    /// ## Why is this bad?
    /// The revision graph is the point of these variables, and every tool
    /// that reads it without importing your code (reviewers included) has to
    /// guess. The value is never guessed here: the graph is marked incomplete
    /// and head checks stay quiet until it is a literal.
    ///
    /// ## Example
    /// ```python
    /// down_revision = get_previous_revision()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// down_revision = "1975ea83b712"
    /// ```
    pub static RULE = {
        code: "MG002",
        name: "dynamic-revision",
        severity: Warning,
        tag: None,
        summary: "revision / down_revision is not a literal the tool can read",
    };
}

pub fn check(ctx: &FileContext, out: &mut Vec<Diagnostic>) {
    let file = ctx.file;
    for (name, decl) in [
        ("revision", &file.revision),
        ("down_revision", &file.down_revision),
        ("branch_labels", &file.branch_labels),
        ("depends_on", &file.depends_on),
    ] {
        let Some(decl) = decl else { continue };
        let bad = match &decl.value {
            DeclValue::Dynamic => true,
            DeclValue::Seq(_) if name == "revision" => true,
            DeclValue::None if name == "revision" => true,
            _ => false,
        };
        if bad {
            out.push(Diagnostic::new(
                &RULE,
                decl.value_range,
                format!(
                    "`{name}` is not a literal string{}: the graph cannot be read without running this file",
                    if name == "revision" { "" } else { ", tuple or None" }
                ),
            ));
        }
    }
}

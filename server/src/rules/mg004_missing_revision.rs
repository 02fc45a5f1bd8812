use crate::diagnostic::Diagnostic;
use crate::discovery::legacy_revision_from_name;
use crate::position::TextRange;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Reports a `.py` file in a version location that declares no
    /// `revision` (and whose name is not lowercase hex, Alembic's legacy way
    /// to name a revision), or a revision with no `down_revision` variable.
    ///
    /// ## Why is this bad?
    /// Alembic imports every `.py` file of a version location and refuses
    /// to load the whole graph when one has no `revision` ("Could not
    /// determine revision id from filename") or no `down_revision`
    /// (AttributeError). Helpers belong outside the versions folder.
    ///
    /// ## Example
    /// ```python
    /// # versions/helpers.py
    /// def create_index_concurrently(name, table, columns): ...
    /// ```
    pub static RULE = {
        code: "MG004",
        name: "missing-revision",
        severity: Error,
        tag: None,
        summary: "a .py file in a version location with no revision",
    };
}

pub fn check(ctx: &FileContext, out: &mut Vec<Diagnostic>) {
    let file = ctx.file;
    // A file that cannot be read or parsed is MG001's.
    if file.decode_problem.is_some() {
        return;
    }
    if file.revision.is_none() && legacy_revision_from_name(ctx.file_name).is_none() {
        out.push(Diagnostic::new(
            &RULE,
            TextRange::empty(0),
            format!(
                "`{}` declares no `revision`: Alembic cannot determine its revision id and refuses to load the graph",
                ctx.file_name
            ),
        ));
    } else if file.down_revision.is_none() {
        let range = file
            .revision
            .as_ref()
            .map(|d| d.statement_range)
            .unwrap_or(TextRange::empty(0));
        out.push(Diagnostic::new(
            &RULE,
            range,
            "this revision declares no `down_revision`: Alembic fails to load it (AttributeError); use `down_revision = None` for a base",
        ));
    }
}

use crate::diagnostic::Diagnostic;
use crate::rules::FileContext;

declare_rule! {
    /// ## What it does
    /// Reports module-level code that fails when Python imports the file and
    /// that can be seen without running it: today, a module-level annotation
    /// naming something never imported or defined
    /// (`down_revision: Union[str, None] = ...` without
    /// `from typing import Union`).
    ///
    /// ## Why is this bad?
    /// Python evaluates module-level annotations on import (before 3.14, and
    /// without `from __future__ import annotations`), so the import fails
    /// with `NameError` and Alembic refuses to load the whole graph.
    ///
    /// ## Example
    /// ```python
    /// revision: str = "bbbb0002"
    /// down_revision: Union[str, None] = "aaaa0001"
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// from typing import Union
    ///
    /// revision: str = "bbbb0002"
    /// down_revision: Union[str, None] = "aaaa0001"
    /// ```
    pub static RULE = {
        code: "MG005",
        name: "import-error",
        severity: Error,
        tag: None,
        summary: "module-level code that fails when Alembic imports the file",
    };
}

pub fn check(ctx: &FileContext, out: &mut Vec<Diagnostic>) {
    for failure in &ctx.file.import_failures {
        out.push(Diagnostic::new(
            &RULE,
            failure.range,
            failure.message.clone(),
        ));
    }
}

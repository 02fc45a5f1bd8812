//! What the analysis says about a file: findings with a rule, a range, a
//! message and, where one exists, a fix. Front ends only render these.

use serde::Serialize;

use crate::position::TextRange;
use crate::rules::Rule;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A text replacement in the file the diagnostic belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: TextRange,
    pub new_text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub range: TextRange,
    pub whole_body: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixKind {
    /// Inserts an approval tag: a decision, never applied in bulk silently.
    Approve,
    /// A safe rewrite of the code.
    Rewrite,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub kind: FixKind,
    pub edits: Vec<Edit>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: &'static Rule,
    pub range: TextRange,
    pub message: String,
    pub severity: Severity,
    /// For tag rules: where a tag approving this finding may stand.
    pub anchor: Option<Anchor>,
    pub fixes: Vec<Fix>,
}

impl Diagnostic {
    pub fn new(rule: &'static Rule, range: TextRange, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            rule,
            range,
            message: message.into(),
            severity: rule.default_severity,
            anchor: None,
            fixes: Vec::new(),
        }
    }

    /// Tags count trailing on the statement's lines or in the comment block
    /// right above it.
    pub fn anchored_to_statement(mut self, statement: TextRange) -> Diagnostic {
        self.anchor = Some(Anchor {
            range: statement,
            whole_body: false,
        });
        self
    }

    /// Tags count anywhere in the function's body or right above its `def`.
    pub fn anchored_to_function(mut self, def: TextRange) -> Diagnostic {
        self.anchor = Some(Anchor {
            range: def,
            whole_body: true,
        });
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Diagnostic {
        self.fixes.push(fix);
        self
    }
}

//! What the page shows for a finding in the policy text (an error, a
//! warning, a note of the import): severity, a stable code, the field path
//! and line:column (1-based; columns count characters).

use meshpolicy_import::source::Pos;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// One problem, placed in the policy text when it can be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, kebab-case (`yaml-syntax`, `invalid-policy`, ...).
    pub code: &'static str,
    /// One line, lowercase, user input in backticks.
    pub message: String,
    /// The field path (`spec.http[0].match[0].uri.regex`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 0-based index among the text's non-empty YAML documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// Length in bytes of the spanned text (0 when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub len: Option<usize>,
    /// What to do about it, when there is more to say than the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            path: None,
            document: None,
            line: None,
            column: None,
            len: None,
            help: None,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn at(mut self, pos: Option<Pos>) -> Diagnostic {
        if let Some(pos) = pos {
            self.line = Some(pos.line);
            self.column = Some(pos.column);
            self.len = Some(pos.len);
        }
        self
    }

    pub fn at_path(mut self, document: usize, path: impl Into<String>) -> Diagnostic {
        self.document = Some(document);
        self.path = Some(path.into());
        self
    }

    /// `line:column: message`, for people and test failures.
    pub fn display(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{l}:{c}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// The import's finding (the same code and place `policy-cli validate`
/// reports), as the page shows it.
impl From<meshpolicy_import::Diagnostic> for Diagnostic {
    fn from(d: meshpolicy_import::Diagnostic) -> Diagnostic {
        use meshpolicy_import::Severity as S;
        let mut out = Diagnostic::error(d.code, d.message).at(d.pos);
        out.severity = match d.severity {
            S::Error => Severity::Error,
            S::Warning => Severity::Warning,
            S::Note => Severity::Note,
        };
        out.path = d.path;
        out.document = d.document;
        out.help = d.help;
        out
    }
}

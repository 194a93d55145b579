//! Policy errors: every problem of a document at once, each with the logical
//! field path (`spec.http[2].match[0].uri.regex`) the CLI maps to line:col.

use std::fmt;

use serde::Serialize;

/// One problem in a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, miette::Diagnostic)]
#[error("{path}: {message}")]
pub struct PolicyError {
    /// Field path: `spec.http[2].match[0].uri.regex`; map keys that are not
    /// plain names (`[A-Za-z0-9_-]+`) are written `headers["x.y"]`.
    pub path: String,
    /// One line, lowercase, user input in backticks.
    pub message: String,
}

impl PolicyError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Every problem found in a policy document (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, miette::Diagnostic)]
#[error("{}", DisplayLines(.errors))]
pub struct PolicyErrors {
    #[related]
    pub errors: Vec<PolicyError>,
}

impl PolicyErrors {
    pub fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            errors: vec![PolicyError::new(path, message)],
        }
    }

    /// The paths of all errors, in report order (handy in tests and tools).
    pub fn paths(&self) -> Vec<&str> {
        self.errors.iter().map(|e| e.path.as_str()).collect()
    }
}

/// Display: one line per error.
struct DisplayLines<'a>(&'a [PolicyError]);

impl fmt::Display for DisplayLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Builds field paths while walking a document, and collects errors.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    pub(crate) list: Vec<PolicyError>,
}

impl Errors {
    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.list.push(PolicyError::new(path, message));
    }

    pub(crate) fn into_result(self) -> Result<(), PolicyErrors> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(PolicyErrors { errors: self.list })
        }
    }
}

/// `parent.field`.
pub(crate) fn field(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[i]`.
pub(crate) fn item(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// `parent.key` for plain keys, `parent["key"]` otherwise.
pub(crate) fn key(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        field(parent, key)
    } else {
        let quoted = serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\""));
        format!("{parent}[{quoted}]")
    }
}

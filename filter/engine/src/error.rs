//! Policy errors: every problem of a document at once, each with a typed
//! kind (a stable [`ErrorCode`], a help text) and the logical field path
//! ([`FieldPath`], `spec.http[2].match[0].uri.regex`) the CLI maps to
//! line:col without parsing text.

mod code;
mod kind;
mod path;

use std::fmt;

use serde::Serialize;

pub use code::ErrorCode;
pub(crate) use code::coded_enum;
pub use kind::PolicyErrorKind;
pub use path::{FieldPath, PathSegment};
pub(crate) use path::{LazyPath, ToFieldPath, lazy};

/// One problem in a policy document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {kind}", path.or_document())]
pub struct PolicyError {
    /// Where: `spec.http[2].match[0].uri.regex`; the document itself is the
    /// empty path (displayed `document`).
    pub path: FieldPath,
    /// What: a stable code, the one-line message (its `Display`) and help.
    pub kind: PolicyErrorKind,
}

impl PolicyError {
    pub fn new(path: FieldPath, kind: PolicyErrorKind) -> Self {
        Self { path, kind }
    }

    /// The stable, kebab-case code of the kind (`invalid-regex`).
    pub fn code(&self) -> &'static str {
        self.kind.code().as_str()
    }

    /// One line, lowercase, user input in backticks.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }

    /// What to do about it, when the message does not say it already.
    pub fn help(&self) -> Option<&'static str> {
        self.kind.help()
    }
}

impl miette::Diagnostic for PolicyError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(PolicyError::code(self)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        PolicyError::help(self).map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}

/// As JSON for tools: `{path, code, message}`.
impl Serialize for PolicyError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("PolicyError", 3)?;
        st.serialize_field("path", &self.path.or_document().to_string())?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.message())?;
        st.end()
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
    pub fn one(path: FieldPath, kind: PolicyErrorKind) -> Self {
        Self {
            errors: vec![PolicyError::new(path, kind)],
        }
    }

    /// The paths of all errors as text (`document` for the document
    /// itself), in report order (handy in tests and tools).
    pub fn paths(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|e| e.path.or_document().to_string())
            .collect()
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

/// Collects errors while walking a document.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    pub(crate) list: Vec<PolicyError>,
}

impl Errors {
    pub(crate) fn push(&mut self, path: &impl ToFieldPath, kind: PolicyErrorKind) {
        self.list.push(PolicyError::new(path.to_field_path(), kind));
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
pub(crate) fn field(parent: &FieldPath, name: &'static str) -> FieldPath {
    parent.field(name)
}

/// `parent[i]`.
pub(crate) fn item(parent: &FieldPath, index: usize) -> FieldPath {
    parent.index(index)
}

/// `parent.key` for plain keys, `parent["key"]` otherwise.
pub(crate) fn key(parent: &FieldPath, key: &str) -> FieldPath {
    parent.key(key)
}

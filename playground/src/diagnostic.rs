//! What the page shows for a finding in the policy text (an error, a
//! warning, a note of the import): the import's own [`Diagnostic`], the type
//! `policy-cli` reports too, as JSON with severity, a stable code, the field
//! path and line:column (1-based; columns count characters).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

pub use meshpolicy_import::{Diagnostic, Severity};

/// A diagnostic as the page reads it: `severity`, `code`, `message`, then
/// `path`, `document` (0-based index among the text's non-empty YAML
/// documents), `line`, `column`, `len` (bytes of the spanned text) and
/// `help`, each left out when there is none.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(pub &'a Diagnostic);

/// Every diagnostic as the page reads it.
pub fn shown(diagnostics: &[Diagnostic]) -> Vec<Shown<'_>> {
    diagnostics.iter().map(Shown).collect()
}

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let pos = d.pos;
        let optional = [
            ("path", d.path.as_deref().map(Value::from)),
            ("document", d.document.map(Value::from)),
            ("line", pos.map(|p| Value::from(p.line))),
            ("column", pos.map(|p| Value::from(p.column))),
            ("len", pos.map(|p| Value::from(p.len))),
            ("help", d.help.as_deref().map(Value::from)),
        ];
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("severity", &d.severity)?;
        map.serialize_entry("code", d.code)?;
        map.serialize_entry("message", &d.message)?;
        for (key, value) in optional {
            if let Some(value) = value {
                map.serialize_entry(key, &value)?;
            }
        }
        map.end()
    }
}

//! A small YAML writer for the rendered manifests.
//!
//! Written by hand because no YAML serializer we can use does the three
//! things the manifests need: comments that explain a field, keys in the
//! order Kubernetes readers expect (`apiVersion`, `kind`, `metadata`, `spec`),
//! and quoting forced on chosen scalars (`sha256`, `url`) so that no YAML tool
//! on the way to the cluster turns a digest made of digits and one `e` into a
//! number. Output depends only on the input: byte-for-byte deterministic.

use std::fmt::Write as _;

use serde_json::Value;

/// A YAML node with ordered maps.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    /// A number, written as given (already valid YAML and JSON).
    Number(String),
    /// A string, quoted only when a plain scalar would read as something else.
    Str(String),
    /// A string that is always double-quoted.
    Quoted(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Comment lines written above the key (without `# `).
    pub comment: Vec<String>,
    pub key: String,
    pub value: Node,
}

/// One document of a multi-document stream, with a leading comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub comment: Vec<String>,
    pub root: Node,
}

impl Node {
    pub fn map() -> Self {
        Node::Map(Vec::new())
    }

    pub fn str(text: impl Into<String>) -> Self {
        Node::Str(text.into())
    }

    /// Adds `key: value` (builder style; a no-op on anything but a map).
    #[must_use]
    pub fn with(self, key: &str, value: Node) -> Self {
        self.with_comment(&[], key, value)
    }

    /// Adds `key: value` with comment lines above it.
    #[must_use]
    pub fn with_comment(mut self, comment: &[&str], key: &str, value: Node) -> Self {
        if let Node::Map(entries) = &mut self {
            entries.push(Entry {
                comment: comment.iter().map(|line| (*line).to_owned()).collect(),
                key: key.to_owned(),
                value,
            });
        }
        self
    }
}

impl From<&Value> for Node {
    /// JSON to YAML, object keys sorted so the output does not depend on how
    /// serde_json was built (`preserve_order`).
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.to_string()),
            Value::String(s) => Node::Str(s.clone()),
            Value::Array(items) => Node::Seq(items.iter().map(Node::from).collect()),
            Value::Object(map) => {
                let mut entries: Vec<Entry> = map
                    .iter()
                    .map(|(key, value)| Entry {
                        comment: Vec::new(),
                        key: key.clone(),
                        value: Node::from(value),
                    })
                    .collect();
                entries.sort_by(|a, b| a.key.cmp(&b.key));
                Node::Map(entries)
            }
        }
    }
}

/// Writes documents separated by `---`.
pub fn emit(documents: &[Document]) -> String {
    let mut out = String::new();
    for (i, document) in documents.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        write_comment(&mut out, 0, &document.comment);
        match &document.root {
            Node::Map(entries) if !entries.is_empty() => write_map(&mut out, 0, entries),
            Node::Seq(items) if !items.is_empty() => write_seq(&mut out, 0, items),
            scalar => {
                out.push_str(&inline(scalar).unwrap_or_default());
                out.push('\n');
            }
        }
    }
    out
}

fn write_comment(out: &mut String, indent: usize, lines: &[String]) {
    for line in lines {
        pad(out, indent);
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            let _ = writeln!(out, "# {line}");
        }
    }
}

fn write_map(out: &mut String, indent: usize, entries: &[Entry]) {
    for entry in entries {
        write_comment(out, indent, &entry.comment);
        pad(out, indent);
        write_entry(out, indent, entry);
    }
}

/// Writes `key: value` from the current column (indentation already written).
fn write_entry(out: &mut String, indent: usize, entry: &Entry) {
    out.push_str(&scalar_text(&entry.key, false));
    out.push(':');
    match inline(&entry.value) {
        Some(text) => {
            out.push(' ');
            out.push_str(&text);
            out.push('\n');
        }
        None => {
            out.push('\n');
            match &entry.value {
                Node::Map(entries) => write_map(out, indent + 2, entries),
                Node::Seq(items) => write_seq(out, indent + 2, items),
                _ => {}
            }
        }
    }
}

fn write_seq(out: &mut String, indent: usize, items: &[Node]) {
    for item in items {
        match (item, inline(item)) {
            (_, Some(text)) => {
                pad(out, indent);
                out.push_str("- ");
                out.push_str(&text);
                out.push('\n');
            }
            (Node::Map(entries), None) => {
                // A comment on the first key goes above the dash.
                if let Some(first) = entries.first() {
                    write_comment(out, indent, &first.comment);
                }
                pad(out, indent);
                out.push_str("- ");
                for (i, entry) in entries.iter().enumerate() {
                    if i > 0 {
                        write_comment(out, indent + 2, &entry.comment);
                        pad(out, indent + 2);
                    }
                    write_entry(out, indent + 2, entry);
                }
            }
            (Node::Seq(nested), None) => {
                pad(out, indent);
                out.push_str("-\n");
                write_seq(out, indent + 2, nested);
            }
            _ => {}
        }
    }
}

/// The one-line form of a scalar or an empty collection; `None` for a block.
fn inline(node: &Node) -> Option<String> {
    match node {
        Node::Null => Some("null".to_owned()),
        Node::Bool(b) => Some(b.to_string()),
        Node::Number(n) => Some(n.clone()),
        Node::Str(s) => Some(scalar_text(s, false)),
        Node::Quoted(s) => Some(scalar_text(s, true)),
        Node::Seq(items) if items.is_empty() => Some("[]".to_owned()),
        Node::Map(entries) if entries.is_empty() => Some("{}".to_owned()),
        Node::Seq(_) | Node::Map(_) => None,
    }
}

fn scalar_text(text: &str, force_quotes: bool) -> String {
    if !force_quotes && is_plain_safe(text) {
        text.to_owned()
    } else {
        double_quoted(text)
    }
}

/// A double-quoted scalar. JSON string escapes are valid YAML escapes, so
/// serde_json writes it; the fallback only runs if that ever failed.
fn double_quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

/// Whether `text` reads back as the same string when written plain, under
/// YAML 1.1 and 1.2 alike. Conservative: a letter or `/` first, then only
/// letters, digits and `._/-`, and none of the words YAML 1.1 reads as a
/// boolean or null.
fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '/') {
        return false;
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
    {
        return false;
    }
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    !WORDS.iter().any(|word| text.eq_ignore_ascii_case(word))
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests;

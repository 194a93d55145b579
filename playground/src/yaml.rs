//! The policy text as YAML documents, with the CLI's parser (serde-saphyr)
//! and the CLI's span map (`yaml-spans`), so a field path the engine reports
//! lands on the same line:column as `policy-cli validate` shows.

use yaml_spans::{FieldPath, Pos, SpanMap};

use crate::diagnostic::Diagnostic;

/// One non-empty YAML document of the text.
#[derive(Debug, Clone)]
pub struct Document {
    /// 0-based among the text's non-empty documents.
    pub index: usize,
    pub value: serde_json::Value,
    pub spans: SpanMap,
}

impl Document {
    /// Where `path` (as the engine writes it) is in the text.
    pub fn locate(&self, path: &str) -> Option<Pos> {
        self.spans.locate(&FieldPath::parse(path))
    }

    /// A diagnostic placed at `path` of this document.
    pub fn diag(&self, diag: Diagnostic, path: &str) -> Diagnostic {
        diag.at(self.locate(path)).at_path(self.index, path)
    }

    /// A string field at the top of the document (`kind`, `apiVersion`).
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.value.get(name).and_then(serde_json::Value::as_str)
    }
}

/// Splits `text` into its non-empty documents.
pub fn parse(text: &str) -> Result<Vec<Document>, Diagnostic> {
    let nodes = yaml_spans::parse_documents(text)
        .map_err(|e| Diagnostic::error("yaml-syntax", e.message).at(e.pos))?;
    Ok(nodes
        .into_iter()
        .enumerate()
        .map(|(index, node)| Document {
            index,
            value: node.value.to_json(),
            spans: SpanMap::build(&node, text),
        })
        .collect())
}

//! Input text split into YAML documents, typed with field paths that map
//! back to line:column. Reading files is the caller's (the CLI reads files
//! and stdin, the page hands its editor's text).

use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;

pub use yaml_spans::{FieldPath, Node, PathSegment, Pos, SpanMap};

use crate::diagnostic::Diagnostic;

/// A text as read, shared by every diagnostic that points into it.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The name the user gave (the path as typed, or `<stdin>`).
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
        })
    }
}

/// One YAML document of a file, as a JSON value plus where each field is.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: Arc<SourceFile>,
    /// 0-based position among the file's non-empty documents.
    pub index: usize,
    pub value: serde_json::Value,
    /// The spanned tree; the map of field paths to places is built from it
    /// only when a diagnostic needs it (a 10,000-case test file never does).
    node: Arc<Spanned<Node>>,
    spans: Arc<OnceLock<SpanMap>>,
}

/// Splits a file into its documents. Empty documents (only comments, or a
/// trailing `---`) are skipped, as kubectl does.
pub fn parse_documents(file: &Arc<SourceFile>) -> Result<Vec<Document>, Diagnostic> {
    let nodes = yaml_spans::parse_documents(&file.text).map_err(|e| {
        Diagnostic::error("yaml-syntax", e.message)
            .in_file(file, e.pos)
            .with_help("the parser stopped here; the cause can be earlier: an unclosed bracket or quote, or wrong indentation")
    })?;
    Ok(nodes
        .into_iter()
        .enumerate()
        .map(|(index, node)| Document {
            file: Arc::clone(file),
            index,
            value: node.value.to_json(),
            node: Arc::new(node),
            spans: Arc::new(OnceLock::new()),
        })
        .collect())
}

impl Document {
    /// Where each field path of this document is.
    pub fn spans(&self) -> &SpanMap {
        self.spans
            .get_or_init(|| SpanMap::build(&self.node, &self.file.text))
    }

    /// A diagnostic pointed at `path` in this document.
    /// An unknown or unsupported field is shown at its key, everything else
    /// at its value.
    pub fn diag(&self, diag: Diagnostic, path: &FieldPath) -> Diagnostic {
        let pos = match diag.code {
            "unknown-field" | "unsupported-field" => self.spans().locate_key(path),
            _ => None,
        };
        let pos = pos.or_else(|| self.spans().locate(path));
        diag.placed(&self.file, self.index, pos, path.to_string())
    }

    /// A string field at the top of the document (`kind`, `apiVersion`).
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.value.get(name).and_then(serde_json::Value::as_str)
    }

    pub fn kind(&self) -> Option<&str> {
        self.str_field("kind")
    }

    pub fn api_version(&self) -> Option<&str> {
        self.str_field("apiVersion")
    }

    /// `metadata.name`, or `#<n>` when it has none.
    pub fn name(&self) -> String {
        self.value
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| format!("#{}", self.index + 1), str::to_owned)
    }

    /// The kind and name, as messages name the document (``VirtualService `reviews` ``).
    pub fn title(&self) -> String {
        format!("{} `{}`", self.kind().unwrap_or_default(), self.name())
    }

    /// Deserialises the whole document into `T`; an error names the field path
    /// and points at it.
    pub fn typed<T: DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        self.typed_at(&FieldPath::default(), &self.value)
    }

    /// Deserialises `value`, found at `base` in this document, into `T`.
    pub fn typed_at<T: DeserializeOwned>(
        &self,
        base: &FieldPath,
        value: &serde_json::Value,
    ) -> Result<T, Diagnostic> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let mut path = base.clone();
            for seg in e.path().iter() {
                match seg {
                    serde_path_to_error::Segment::Seq { index } => {
                        path.push(PathSegment::Index(*index))
                    }
                    serde_path_to_error::Segment::Map { key } => {
                        path.push(PathSegment::Key(key.clone()))
                    }
                    serde_path_to_error::Segment::Enum { .. }
                    | serde_path_to_error::Segment::Unknown => {}
                }
            }
            let message = e.inner().to_string();
            let (code, path) = classify_serde_error(&message, path, self.spans());
            self.diag(Diagnostic::error(code, message), &path)
        })
    }
}

/// Names the kind of a serde error and, for an unknown field, makes sure the
/// path ends at that field so the diagnostic points at its key.
fn classify_serde_error(
    message: &str,
    path: FieldPath,
    spans: &SpanMap,
) -> (&'static str, FieldPath) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let ends_with_field = path.segments().last().and_then(PathSegment::name) == Some(field);
        let path = if ends_with_field || !spans.contains(&path.key(field)) {
            path
        } else {
            path.key(field)
        };
        return ("unknown-field", path);
    }
    if message.starts_with("missing field") {
        return ("missing-field", path);
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        return ("wrong-type", path);
    }
    if message.starts_with("unknown variant") {
        return ("unknown-value", path);
    }
    ("invalid-field", path)
}

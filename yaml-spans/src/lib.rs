//! A YAML document as a tree of spanned nodes, and the map from the field
//! paths the engine reports (`spec.http[2].match[0].uri.regex`) to
//! line:column. Shared by `policy-cli` and the playground (which builds for
//! `wasm32-unknown-unknown` and cannot depend on the CLI), so both parse
//! with the same parser and place a diagnostic on the same line:column.

mod budget;
mod node;
mod path;

use serde_saphyr::Spanned;

pub use node::Node;
pub use path::{FieldPath, PathSegment, Pos, SpanMap, byte_offset};

/// A YAML syntax error: the parser's message (without the location suffix
/// it adds, since callers show the place themselves) and where it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub pos: Option<Pos>,
}

/// Splits `text` into its documents. Empty documents (only comments, or a
/// trailing `---`) are skipped, as kubectl does.
pub fn parse_documents(text: &str) -> Result<Vec<Spanned<Node>>, SyntaxError> {
    let options = serde_saphyr::options! { with_snippet: false, budget: Some(budget::budget()) };
    let nodes: Vec<Spanned<Node>> = serde_saphyr::from_str_multiple_with_options(text, options)
        .map_err(|e| SyntaxError {
            message: yaml_message(&e),
            pos: e.location().map(|l| Pos::from_location(&l, text)),
        })?;
    Ok(nodes
        .into_iter()
        .filter(|n| n.value != Node::Null)
        .collect())
}

/// serde-saphyr's message without the location suffix it adds.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    if let Some(sentence) = budget::breach_message(e) {
        return sentence;
    }
    if let serde_saphyr::Error::BinaryNotUtf8 { .. } = e {
        // The parser's own text tells the reader to set one of its options.
        return "invalid YAML: this `!!binary` value decodes to bytes that are not UTF-8 text, and every field of a policy or test file takes text".to_owned();
    }
    let text = e.without_snippet().to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_owned(),
        None => text,
    };
    format!("invalid YAML: {text}")
}

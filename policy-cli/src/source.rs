//! Input files: read, split into YAML documents, and typed with field paths
//! that map back to line:column.

use std::path::Path;
use std::sync::Arc;

pub use meshpolicy_import::source::{Document, SourceFile};
pub use yaml_spans::{FieldPath, Node, PathSegment, Pos, SpanMap};

use crate::diagnostic::Diagnostic;

/// Files larger than this are refused before parsing: a policy is a few KiB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reading a [`SourceFile`] from a path or stdin (the type itself is
/// `meshpolicy-import`'s, shared with the playground).
pub trait ReadSource {
    /// Reads a file; `-` reads stdin.
    fn read(path: &Path) -> Result<Arc<SourceFile>, Diagnostic>;
}

impl ReadSource for SourceFile {
    fn read(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
        let name = path.display().to_string();
        if name == "-" {
            let bytes = read_limited(std::io::stdin().lock()).map_err(|e| {
                Diagnostic::error(
                    "unreadable-file",
                    format!("cannot read stdin: {}", lower_io(&e)),
                )
            })?;
            return text_of("<stdin>".to_owned(), bytes);
        }
        let unreadable = |e: std::io::Error| {
            Diagnostic::error(
                "unreadable-file",
                format!("cannot read `{name}`: {}", lower_io(&e)),
            )
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if meta.is_dir() {
            return Err(Diagnostic::error(
                "unreadable-file",
                format!("cannot read `{name}`: it is a directory"),
            )
            .with_help("pass the YAML files inside it, e.g. `dir/*.yaml`"));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(too_large(&name, Some(meta.len())));
        }
        // Devices and pipes report no size (`/dev/zero` is "0 bytes"): the
        // limit holds on what is read, never more than one byte past it.
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let bytes = read_limited(file).map_err(unreadable)?;
        text_of(name, bytes)
    }
}

/// Reads at most [`MAX_FILE_BYTES`] + 1 bytes.
fn read_limited(reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut reader.take(MAX_FILE_BYTES + 1), &mut bytes)?;
    Ok(bytes)
}

fn too_large(name: &str, size: Option<u64>) -> Diagnostic {
    let message = match size {
        Some(size) => format!("`{name}` is {size} bytes, more than the limit of {MAX_FILE_BYTES}"),
        None => format!("`{name}` is larger than the limit of {MAX_FILE_BYTES} bytes"),
    };
    Diagnostic::error("file-too-large", message)
}

/// The text of what was read, refused past the size limit or when not UTF-8.
fn text_of(name: String, bytes: Vec<u8>) -> Result<Arc<SourceFile>, Diagnostic> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(&name, None));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(
            "unreadable-file",
            format!(
                "`{name}` is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(SourceFile::new(name, text))
}

/// An I/O error in our style: lowercase, without the OS error number.
fn lower_io(e: &std::io::Error) -> String {
    let text = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    };
    let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Splits a file into its documents. Empty documents (only comments, or a
/// trailing `---`) are skipped, as kubectl does.
pub fn parse_documents(file: &Arc<SourceFile>) -> Result<Vec<Document>, Diagnostic> {
    meshpolicy_import::parse_documents(file)
}

#[cfg(test)]
mod tests;

//! Where each field path (`spec.http[2].match[0].uri.regex`) is in a file.
//! The paths are the engine's [`FieldPath`]s, so an engine error is placed
//! without turning its path into text and back.

use std::collections::BTreeMap;

pub use meshpolicy_engine::{FieldPath, PathSegment};

use serde_saphyr::{Location, Spanned};

use crate::node::Node;

/// A place in a source file: 1-based line and column, 0-based byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    pub len: usize,
}

impl Pos {
    /// Converts a serde-saphyr location, computing the byte offset from line
    /// and column when the location carries none (errors from the parser).
    pub fn from_location(loc: &Location, text: &str) -> Pos {
        let line = usize::try_from(loc.line()).unwrap_or(0).max(1);
        let column = usize::try_from(loc.column()).unwrap_or(0).max(1);
        let span = loc.span();
        let from_bytes = span
            .byte_offset()
            .zip(span.byte_len())
            .and_then(|(o, l)| Some((usize::try_from(o).ok()?, usize::try_from(l).ok()?)))
            .filter(|(o, l)| o.saturating_add(*l) <= text.len());
        let (offset, len) = from_bytes.unwrap_or_else(|| (byte_offset(text, line, column), 0));
        Pos {
            line,
            column,
            offset,
            len,
        }
    }
}

/// The byte offset of a 1-based line and character column, clamped to the text.
pub fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let rest = text.get(line_start..).unwrap_or("");
    let in_line = rest
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    (line_start + in_line).min(text.len())
}

/// Where each field path of one document is: the key that names it (for map
/// entries) and the value.
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    entries: BTreeMap<FieldPath, Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Option<Pos>,
    value: Pos,
    scalar: bool,
}

impl SpanMap {
    pub fn build(root: &Spanned<Node>, text: &str) -> SpanMap {
        let mut map = SpanMap::default();
        map.walk(FieldPath::default(), None, root, text);
        map
    }

    fn walk(&mut self, path: FieldPath, key: Option<Pos>, node: &Spanned<Node>, text: &str) {
        let value = Pos::from_location(&node.referenced, text);
        self.entries.insert(
            path.clone(),
            Entry {
                key,
                value,
                scalar: node.value.is_scalar(),
            },
        );
        match &node.value {
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(path.index(i), None, item, text);
                }
            }
            Node::Map(entries) => {
                for (k, v) in entries {
                    let key_pos = Pos::from_location(&k.referenced, text);
                    self.walk(path.key(k.value.key_text()), Some(key_pos), v, text);
                }
            }
            _ => {}
        }
    }

    /// The best place for a diagnostic about `path`: the value of a scalar,
    /// the key of a collection, or the nearest enclosing field that exists.
    pub fn locate(&self, path: &FieldPath) -> Option<Pos> {
        let mut current = Some(path.clone());
        while let Some(p) = current {
            if let Some(e) = self.entries.get(&p) {
                return Some(match (e.scalar, e.key) {
                    (false, Some(key)) => key,
                    _ => e.value,
                });
            }
            current = p.parent();
        }
        None
    }

    /// The place of the key that names `path`, when it is a map entry.
    pub fn locate_key(&self, path: &FieldPath) -> Option<Pos> {
        self.entries.get(path).and_then(|e| e.key)
    }

    /// Whether `path` exists in the document.
    pub fn contains(&self, path: &FieldPath) -> bool {
        self.entries.contains_key(path)
    }
}

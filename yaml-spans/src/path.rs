//! Field paths (`spec.http[2].match[0].uri.regex`) and where each one is in a file.

use std::collections::BTreeMap;
use std::fmt;

use serde_saphyr::{Location, Spanned};

use crate::node::Node;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A logical field path, displayed as the engine writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    pub fn key(&self, key: impl Into<String>) -> FieldPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.into()));
        FieldPath(segs)
    }

    pub fn index(&self, index: usize) -> FieldPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        FieldPath(segs)
    }

    pub fn parent(&self) -> Option<FieldPath> {
        let (_, rest) = self.0.split_last()?;
        Some(FieldPath(rest.to_vec()))
    }

    /// Parses `a.b[0].c`, `a["x.y"]` and `a['x']`. Anything unreadable ends
    /// the path there: a shorter path still finds the enclosing node.
    pub fn parse(text: &str) -> FieldPath {
        let mut segs = Vec::new();
        let mut chars = text.chars().peekable();
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    if !word.is_empty() {
                        segs.push(Seg::Key(std::mem::take(&mut word)));
                    }
                }
                '[' => {
                    if !word.is_empty() {
                        segs.push(Seg::Key(std::mem::take(&mut word)));
                    }
                    let mut inner = String::new();
                    for d in chars.by_ref() {
                        if d == ']' {
                            break;
                        }
                        inner.push(d);
                    }
                    let quoted = inner
                        .strip_prefix('"')
                        .and_then(|s| s.strip_suffix('"'))
                        .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')));
                    match (quoted, inner.parse::<usize>()) {
                        (Some(key), _) => segs.push(Seg::Key(key.to_owned())),
                        (None, Ok(i)) => segs.push(Seg::Index(i)),
                        (None, Err(_)) => segs.push(Seg::Key(inner)),
                    }
                }
                _ => word.push(c),
            }
        }
        if !word.is_empty() {
            segs.push(Seg::Key(word));
        }
        FieldPath(segs)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) if is_plain_key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Key(k) => write!(f, "[{k:?}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

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

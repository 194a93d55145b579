//! Field paths: where in a document an error or warning is, as typed
//! segments, written the way people read them
//! (`spec.virtualServices[0].http[2].match[0].headers["x.y"].exact`).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// One step of a [`FieldPath`].
///
/// A `Field` (a name from the schema) and a `Key` (a map key from the
/// document) with the same text are the same step: both name one entry of
/// a YAML/JSON map, so a path the engine builds with `Field`s finds the
/// entry a YAML walk recorded with `Key`s. They differ only in cost (a
/// field name is static) and in that only a key may need quoting.
#[derive(Debug, Clone)]
pub enum PathSegment {
    /// A field the schema names (`spec`, `http`, `uri`).
    Field(&'static str),
    /// An entry of a list.
    Index(usize),
    /// A map key from the document (a header name, a host, a subset).
    Key(String),
}

/// What a segment means, for comparing and hashing.
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Step<'a> {
    Name(&'a str),
    Index(usize),
}

impl PathSegment {
    fn step(&self) -> Step<'_> {
        match self {
            PathSegment::Field(name) => Step::Name(name),
            PathSegment::Key(name) => Step::Name(name),
            PathSegment::Index(i) => Step::Index(*i),
        }
    }

    /// The entry's name, for a field or a map key.
    pub fn name(&self) -> Option<&str> {
        match self.step() {
            Step::Name(name) => Some(name),
            Step::Index(_) => None,
        }
    }
}

impl PartialEq for PathSegment {
    fn eq(&self, other: &Self) -> bool {
        self.step() == other.step()
    }
}

impl Eq for PathSegment {}

impl PartialOrd for PathSegment {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathSegment {
    fn cmp(&self, other: &Self) -> Ordering {
        self.step().cmp(&other.step())
    }
}

impl Hash for PathSegment {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.step().hash(state);
    }
}

/// A logical field path. `Display` writes `a.b[0].c`, and a map key that is
/// not a plain name (`[A-Za-z0-9_-]+`) as `a["x.y"]`; the empty path (the
/// document itself) writes nothing (see [`FieldPath::or_document`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The document itself.
    pub fn root() -> FieldPath {
        FieldPath::default()
    }

    /// A path of schema fields from the root (`["spec", "virtualServices"]`).
    pub fn fields(names: &[&'static str]) -> FieldPath {
        FieldPath(names.iter().map(|n| PathSegment::Field(n)).collect())
    }

    /// This path, then the schema field `name`.
    pub fn field(&self, name: &'static str) -> FieldPath {
        self.with(PathSegment::Field(name))
    }

    /// This path, then the map key `key`.
    pub fn key(&self, key: impl Into<String>) -> FieldPath {
        self.with(PathSegment::Key(key.into()))
    }

    /// This path, then list entry `index`.
    pub fn index(&self, index: usize) -> FieldPath {
        self.with(PathSegment::Index(index))
    }

    fn with(&self, seg: PathSegment) -> FieldPath {
        let mut segs = Vec::with_capacity(self.0.len() + 1);
        segs.extend_from_slice(&self.0);
        segs.push(seg);
        FieldPath(segs)
    }

    pub fn push(&mut self, seg: PathSegment) {
        self.0.push(seg);
    }

    pub fn pop(&mut self) -> Option<PathSegment> {
        self.0.pop()
    }

    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The enclosing path (`None` for the root).
    pub fn parent(&self) -> Option<FieldPath> {
        let (_, rest) = self.0.split_last()?;
        Some(FieldPath(rest.to_vec()))
    }

    pub fn starts_with(&self, prefix: &FieldPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// `document` for the root, the path otherwise: how a message names it.
    pub fn or_document(&self) -> OrDocument<'_> {
        OrDocument(self)
    }
}

impl From<Vec<PathSegment>> for FieldPath {
    fn from(segs: Vec<PathSegment>) -> Self {
        FieldPath(segs)
    }
}

impl Extend<PathSegment> for FieldPath {
    fn extend<T: IntoIterator<Item = PathSegment>>(&mut self, iter: T) {
        self.0.extend(iter);
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSegment::Index(n) => write!(f, "[{n}]")?,
                PathSegment::Field(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathSegment::Key(k) if is_plain_key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathSegment::Key(k) => write_quoted(f, k)?,
            }
        }
        Ok(())
    }
}

/// A [`FieldPath`] displayed as `document` when it is the root.
pub struct OrDocument<'a>(&'a FieldPath);

impl fmt::Display for OrDocument<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_root() {
            f.write_str("document")
        } else {
            self.0.fmt(f)
        }
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `["key"]` with JSON string escapes.
fn write_quoted(f: &mut fmt::Formatter<'_>, key: &str) -> fmt::Result {
    match serde_json::to_string(key) {
        Ok(quoted) => write!(f, "[{quoted}]"),
        Err(_) => write!(f, "[\"{key}\"]"),
    }
}

/// A field path not built yet: where a compile step is, as a chain of
/// borrowed steps up to a built [`FieldPath`]. Passing one down costs
/// nothing; [`LazyPath::to_path`] builds the `FieldPath` only when an error
/// or a warning is reported there (building every node's path eagerly was
/// most of what compiling a policy cost, issue 11).
#[derive(Debug, Clone, Copy)]
pub(crate) enum LazyPath<'a> {
    /// A path already built (the root of a chain).
    Built(&'a FieldPath),
    /// `parent.name`.
    Field(&'a LazyPath<'a>, &'static str),
    /// `parent[index]`.
    Index(&'a LazyPath<'a>, usize),
    /// `parent.key` (or `parent["key"]`).
    Key(&'a LazyPath<'a>, &'a str),
}

impl<'a> LazyPath<'a> {
    /// The chain's steps after its built root, last first.
    fn steps(&self) -> (&'a FieldPath, Vec<PathSegment>) {
        let mut steps = Vec::new();
        let mut at = *self;
        loop {
            at = match at {
                LazyPath::Built(root) => return (root, steps),
                LazyPath::Field(parent, name) => {
                    steps.push(PathSegment::Field(name));
                    *parent
                }
                LazyPath::Index(parent, index) => {
                    steps.push(PathSegment::Index(index));
                    *parent
                }
                LazyPath::Key(parent, key) => {
                    steps.push(PathSegment::Key(key.to_owned()));
                    *parent
                }
            };
        }
    }

    /// The [`FieldPath`] this chain names.
    pub(crate) fn to_path(self) -> FieldPath {
        let (root, steps) = self.steps();
        let mut segs = Vec::with_capacity(root.0.len() + steps.len());
        segs.extend_from_slice(&root.0);
        segs.extend(steps.into_iter().rev());
        FieldPath(segs)
    }
}

impl<'a> From<&'a FieldPath> for LazyPath<'a> {
    fn from(path: &'a FieldPath) -> Self {
        LazyPath::Built(path)
    }
}

/// The lazy twins of `crate::error::{field, item, key}`: the same calls,
/// building nothing until [`LazyPath::to_path`].
pub(crate) mod lazy {
    use super::LazyPath;

    /// `parent.field`.
    pub(crate) fn field<'a>(parent: &'a LazyPath<'a>, name: &'static str) -> LazyPath<'a> {
        LazyPath::Field(parent, name)
    }

    /// `parent[i]`.
    pub(crate) fn item<'a>(parent: &'a LazyPath<'a>, index: usize) -> LazyPath<'a> {
        LazyPath::Index(parent, index)
    }

    /// `parent.key` for plain keys, `parent["key"]` otherwise.
    pub(crate) fn key<'a>(parent: &'a LazyPath<'a>, key: &'a str) -> LazyPath<'a> {
        LazyPath::Key(parent, key)
    }
}

/// Something an error can be reported at: a built path or a lazy one.
pub(crate) trait ToFieldPath {
    fn to_field_path(&self) -> FieldPath;
}

impl ToFieldPath for FieldPath {
    fn to_field_path(&self) -> FieldPath {
        self.clone()
    }
}

impl ToFieldPath for LazyPath<'_> {
    fn to_field_path(&self) -> FieldPath {
        self.to_path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_the_engine_always_wrote_paths() {
        let p = FieldPath::fields(&["spec", "virtualServices"])
            .index(0)
            .field("http")
            .index(2)
            .field("match")
            .index(0)
            .field("headers")
            .key("x.y");
        assert_eq!(
            p.to_string(),
            "spec.virtualServices[0].http[2].match[0].headers[\"x.y\"]"
        );
        assert_eq!(
            FieldPath::root().key("labels").key("a-b_c").to_string(),
            "labels.a-b_c"
        );
        assert_eq!(FieldPath::root().index(0).key("a").to_string(), "[0].a");
        assert_eq!(FieldPath::root().or_document().to_string(), "document");
        assert_eq!(FieldPath::root().to_string(), "");
    }

    #[test]
    fn a_field_and_a_key_of_the_same_name_are_the_same_step() {
        let engine = FieldPath::fields(&["spec", "http"]).index(1);
        let yaml = FieldPath::root().key("spec").key("http").index(1);
        assert_eq!(engine, yaml);
        assert!(engine.starts_with(&FieldPath::root().key("spec")));
        assert_ne!(engine, FieldPath::root().key("spec").key("http").index(2));
        assert_eq!(engine.parent(), Some(FieldPath::fields(&["spec", "http"])));
    }

    #[test]
    fn a_lazy_path_builds_the_path_of_the_same_calls() {
        let vs = FieldPath::fields(&["spec", "virtualServices"]).index(3);
        let root = LazyPath::from(&vs);
        let http = lazy::field(&root, "http");
        let rule = lazy::item(&http, 2);
        let headers = lazy::field(&rule, "headers");
        let lazy_path = lazy::key(&headers, "x.y");
        let built = vs.field("http").index(2).field("headers").key("x.y");
        assert_eq!(lazy_path.to_path(), built);
        assert_eq!(lazy_path.to_path().to_string(), built.to_string());
        assert_eq!(
            lazy_path.to_path().to_string(),
            "spec.virtualServices[3].http[2].headers[\"x.y\"]"
        );
        assert_eq!(root.to_field_path(), vs);
        assert_eq!(
            LazyPath::from(&FieldPath::root()).to_path(),
            FieldPath::root()
        );
    }
}

//! Label sets memoised by the attribute reads that produced them, so a
//! request whose reads answer as an earlier one's did pays for its reads
//! (host calls) and a few hash lookups, not for computing its labels.
//!
//! The standard labels are a function of the decision's two labels and the
//! answers to the attribute reads their computation makes, and which read
//! comes next is itself a function of the answers so far. So the reads of
//! every evaluation form a path in a tree: a node names the next read, its
//! children are keyed by that read's answer, and a leaf holds the metric
//! ids of the label set. A request walks the tree reading exactly what the
//! evaluation would read, in the same order (the same host calls); where
//! the tree ends, the labels are evaluated with the answers read so far
//! replayed ([`Replay`]) and the path is added. Only for telemetry without
//! UPSERT expressions (their values, and `maxValues`, are not a function of
//! these reads alone).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::cel::{Attributes, HeaderMap};
use crate::request::bytes;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// One attribute read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Read {
    /// A property by its path joined as `proxy_get_property` takes it
    /// (segments separated by NUL): joined once, when the read is learned,
    /// not on every request that walks it.
    Property(Box<[u8]>),
    Header(HeaderMap, String),
}

/// Whether `joined` is `path`'s segments separated by NUL.
fn joined_is(joined: &[u8], path: &[&str]) -> bool {
    let mut rest = joined;
    for (i, segment) in path.iter().enumerate() {
        if i > 0 {
            match rest.split_first() {
                Some((0, after)) => rest = after,
                _ => return false,
            }
        }
        match rest.strip_prefix(segment.as_bytes()) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

impl Read {
    fn of_property(path: &[&str]) -> Read {
        Read::Property(path.join("\0").into_bytes().into_boxed_slice())
    }

    fn is_property(&self, path: &[&str]) -> bool {
        matches!(self, Read::Property(joined) if joined_is(joined, path))
    }

    fn is_header(&self, map: HeaderMap, name: &str) -> bool {
        matches!(self, Read::Header(m, n) if *m == map && n == name)
    }

    /// Performs the read on `attrs`.
    fn on<'a>(&self, attrs: &'a dyn Attributes) -> Option<Cow<'a, [u8]>> {
        match self {
            Read::Property(joined) => attrs.property_joined(joined),
            // The bytes as the host gave them: a walk only compares them
            // (an evaluation replays them as `Replay::header` text).
            Read::Header(map, name) => attrs.header_bytes(*map, name),
        }
    }
}

/// An answer: the bytes, or `None` for absent.
pub(crate) type Answer = Option<Vec<u8>>;

#[derive(Debug, Default)]
struct Node {
    /// The next read; `None` at a leaf.
    read: Option<Read>,
    children: FastMap<Vec<u8>, usize>,
    absent: Option<usize>,
    /// At a leaf: the metric ids of the label set.
    ids: [Option<u32>; 4],
    /// The node whose read leads here (`None` at a root), and the answer
    /// that does (at a root, the decision key): a miss rebuilds the reads
    /// of its path from them, so a walk keeps no answer.
    parent: Option<usize>,
    edge: Answer,
    /// The child the last walk with a present answer took: checked by
    /// comparing bytes before the answer is hashed (label sets repeat, and
    /// hashing a ~100-byte peer Struct costs far more in wasm).
    hot: Cell<Option<usize>>,
}

/// The tree of one compiled telemetry in one reporter mode.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    /// Roots by the decision's labels (`rule`, NUL, `destination`).
    roots: FastMap<Vec<u8>, usize>,
    /// The root the last walk started from.
    hot_root: Cell<Option<usize>>,
    nodes: Vec<Node>,
}

/// Where a walk ended.
pub(crate) enum Walk {
    /// The label set's metric ids.
    Hit([Option<u32>; 4]),
    /// Not known yet: the reads made so far, with their answers.
    Miss(Vec<(Read, Answer)>),
}

impl Memo {
    /// The most nodes kept (a path is a node per read, about ten, sharing
    /// prefixes: thousands of label sets in a few MiB); past it new paths
    /// are not added and their requests compute their labels.
    pub(crate) const MAX_NODES: usize = 20_000;

    /// Walks the tree for a request with `decision` labels, reading `attrs`.
    pub(crate) fn walk(&self, decision: &[u8], attrs: &dyn Attributes) -> Walk {
        let Some(mut at) = self.hot(&self.hot_root, decision, || self.roots.get(decision)) else {
            return Walk::Miss(Vec::new());
        };
        loop {
            let Some(node) = self.nodes.get(at) else {
                return Walk::Miss(Vec::new());
            };
            let Some(read) = &node.read else {
                return Walk::Hit(node.ids);
            };
            let answer = read.on(attrs);
            let next = match answer.as_deref() {
                None => node.absent,
                Some(bytes) => self.hot(&node.hot, bytes, || node.children.get(bytes)),
            };
            match next.filter(|n| *n < self.nodes.len()) {
                Some(n) => at = n,
                None => {
                    let mut reads = self.path_reads(at);
                    reads.push((read.clone(), answer.map(Cow::into_owned)));
                    return Walk::Miss(reads);
                }
            }
        }
    }

    /// The node reached by `answer`: `hot` when its edge is `answer` (no
    /// hashing), else `lookup`'s, which becomes `hot`.
    fn hot<'m>(
        &'m self,
        hot: &Cell<Option<usize>>,
        answer: &[u8],
        lookup: impl FnOnce() -> Option<&'m usize>,
    ) -> Option<usize> {
        if let Some(h) = hot.get()
            && self
                .nodes
                .get(h)
                .is_some_and(|n| n.edge.as_deref().is_some_and(|e| bytes::eq(e, answer)))
        {
            return Some(h);
        }
        let found = lookup().copied();
        if found.is_some() {
            hot.set(found);
        }
        found
    }

    /// The reads, with their answers, of the path from a root to `to`
    /// (not including `to`'s own read).
    fn path_reads(&self, to: usize) -> Vec<(Read, Answer)> {
        let mut reads = Vec::new();
        let mut at = to;
        while let Some(node) = self.nodes.get(at)
            && let Some(parent) = node.parent
            && let Some(read) = self.nodes.get(parent).and_then(|p| p.read.clone())
        {
            reads.push((read, node.edge.clone()));
            at = parent;
        }
        reads.reverse();
        reads
    }

    /// Adds the path of an evaluation (its decision labels and every read
    /// it made, in order) ending at `ids`. Nothing is added when the tree
    /// is full or the path disagrees with it (an evaluation that is not a
    /// function of its reads).
    pub(crate) fn insert(
        &mut self,
        decision: &[u8],
        reads: &[(Read, Answer)],
        ids: [Option<u32>; 4],
    ) {
        if self.nodes.len() + reads.len() + 1 > Self::MAX_NODES {
            return;
        }
        let mut at = match self.roots.get(decision) {
            Some(at) => {
                self.hot_root.set(Some(*at));
                *at
            }
            None => {
                self.nodes.push(Node {
                    edge: Some(decision.to_vec()),
                    ..Node::default()
                });
                let at = self.nodes.len() - 1;
                self.roots.insert(decision.to_vec(), at);
                self.hot_root.set(Some(at));
                at
            }
        };
        for (read, answer) in reads {
            let fresh = self.nodes.len();
            let Some(node) = self.nodes.get_mut(at) else {
                return;
            };
            match &node.read {
                Some(r) if r != read => return,
                Some(_) => {}
                None if node.children.is_empty() && node.absent.is_none() => {
                    node.read = Some(read.clone());
                }
                None => return,
            }
            let slot = match answer {
                None => *node.absent.get_or_insert(fresh),
                Some(bytes) => {
                    let slot = *node.children.entry(bytes.clone()).or_insert(fresh);
                    // The next request most likely has this label set too.
                    node.hot.set(Some(slot));
                    slot
                }
            };
            if slot == fresh {
                self.nodes.push(Node {
                    parent: Some(at),
                    edge: answer.clone(),
                    ..Node::default()
                });
            }
            at = slot;
        }
        if let Some(leaf) = self.nodes.get_mut(at)
            && leaf.read.is_none()
        {
            leaf.ids = ids;
        }
    }
}

/// [`Attributes`] that answers the reads already made (in order) from
/// their answers, and makes and records the rest.
pub(crate) struct Replay<'a> {
    inner: &'a dyn Attributes,
    reads: RefCell<Vec<(Read, Answer)>>,
    next: Cell<usize>,
    /// A read that did not match the recorded one at its position.
    diverged: Cell<bool>,
}

impl<'a> Replay<'a> {
    pub(crate) fn new(inner: &'a dyn Attributes, reads: Vec<(Read, Answer)>) -> Self {
        Replay {
            inner,
            reads: RefCell::new(reads),
            next: Cell::new(0),
            diverged: Cell::new(false),
        }
    }

    /// Every read, in order; `None` when the evaluation diverged from the
    /// reads replayed.
    pub(crate) fn into_reads(self) -> Option<Vec<(Read, Answer)>> {
        (!self.diverged.get()).then(|| self.reads.into_inner())
    }

    fn answer(&self, matches: impl Fn(&Read) -> bool, read: impl FnOnce() -> Read) -> Answer {
        let i = self.next.get();
        self.next.set(i + 1);
        let mut reads = self.reads.borrow_mut();
        if let Some((recorded, answer)) = reads.get(i) {
            if matches(recorded) {
                return answer.clone();
            }
            self.diverged.set(true);
            reads.truncate(i);
        }
        let read = read();
        let answer = read.on(self.inner).map(Cow::into_owned);
        reads.push((read, answer.clone()));
        answer
    }
}

impl Attributes for Replay<'_> {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
        self.answer(|r| r.is_property(path), || Read::of_property(path))
            .map(Cow::Owned)
    }

    fn header(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, str>> {
        let answer = self.answer(
            |r| r.is_header(map, name),
            || Read::Header(map, name.to_owned()),
        )?;
        Some(Cow::Owned(match String::from_utf8(answer) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::cell::Cell;

    use super::{Answer, Memo, Read, Replay, Walk};
    use crate::telemetry::cel::{Attributes, HeaderMap};

    /// `a` answers its own value, `b` is absent; counts reads.
    struct Host {
        a: &'static [u8],
        reads: Cell<usize>,
    }

    impl Attributes for Host {
        fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
            self.reads.set(self.reads.get() + 1);
            (path == ["a"]).then_some(Cow::Borrowed(self.a))
        }
        fn header(&self, _: HeaderMap, _: &str) -> Option<Cow<'_, str>> {
            None
        }
    }

    fn host(a: &'static [u8]) -> Host {
        Host {
            a,
            reads: Cell::new(0),
        }
    }

    /// An evaluation: reads `a`, then `b` only when `a` is `x`.
    fn evaluate(attrs: &dyn Attributes) {
        if attrs.property(&["a"]).as_deref() == Some(b"x") {
            let _ = attrs.property(&["b"]);
        }
    }

    fn learn(memo: &mut Memo, h: &Host, id: u32) -> Walk {
        let walk = memo.walk(b"r", h);
        if let Walk::Miss(reads) = &walk {
            let replay = Replay::new(h, reads.clone());
            evaluate(&replay);
            let reads: Vec<(Read, Answer)> = replay.into_reads().unwrap();
            memo.insert(b"r", &reads, [Some(id), None, None, None]);
        }
        walk
    }

    #[test]
    fn walks_make_the_evaluations_reads_and_hit_once_learned() {
        let mut memo = Memo::default();
        let x = host(b"x");
        assert!(matches!(learn(&mut memo, &x, 1), Walk::Miss(r) if r.is_empty()));
        assert_eq!(x.reads.get(), 2, "the evaluation read a and b");
        x.reads.set(0);
        assert!(matches!(memo.walk(b"r", &x), Walk::Hit([Some(1), ..])));
        assert_eq!(x.reads.get(), 2, "the walk made the same reads");
        // Another answer to `a`: a miss after one read, replayed, not re-read.
        let y = host(b"y");
        assert!(matches!(learn(&mut memo, &y, 2), Walk::Miss(r) if r.len() == 1));
        assert_eq!(y.reads.get(), 1);
        assert!(matches!(memo.walk(b"r", &y), Walk::Hit([Some(2), ..])));
        assert!(matches!(memo.walk(b"r", &x), Walk::Hit([Some(1), ..])));
        // Another decision is another root.
        assert!(matches!(memo.walk(b"other", &x), Walk::Miss(_)));
    }

    /// A header whose value is not UTF-8: walks compare the host's bytes,
    /// the evaluation sees the text `header` gives (replayed from them).
    #[test]
    fn header_reads_walk_on_the_hosts_bytes() {
        struct Raw(&'static [u8]);
        impl Attributes for Raw {
            fn property(&self, _: &[&str]) -> Option<Cow<'_, [u8]>> {
                None
            }
            fn header(&self, _: HeaderMap, _: &str) -> Option<Cow<'_, str>> {
                Some(String::from_utf8_lossy(self.0))
            }
            fn header_bytes(&self, _: HeaderMap, _: &str) -> Option<Cow<'_, [u8]>> {
                Some(Cow::Borrowed(self.0))
            }
        }
        let mut memo = Memo::default();
        let seen = Cell::new(None);
        let learn = |memo: &mut Memo, h: &Raw, id: u32| {
            let Walk::Miss(reads) = memo.walk(b"r", h) else {
                return false;
            };
            let replay = Replay::new(h, reads);
            seen.set(replay.header(HeaderMap::Request, "x").map(|v| v.len()));
            let reads = replay.into_reads().unwrap();
            memo.insert(b"r", &reads, [Some(id), None, None, None]);
            true
        };
        let (a, b) = (Raw(b"\xff1"), Raw(b"\xfe1"));
        assert!(learn(&mut memo, &a, 1));
        assert_eq!(seen.get(), Some(4), "U+FFFD and `1`");
        // The same text, other bytes: another label set's path.
        assert!(learn(&mut memo, &b, 2));
        assert!(matches!(memo.walk(b"r", &a), Walk::Hit([Some(1), ..])));
        assert!(matches!(memo.walk(b"r", &b), Walk::Hit([Some(2), ..])));
    }

    #[test]
    fn a_property_read_is_its_joined_path() {
        let read = Read::of_property(&["upstream", "uri_san_peer_certificate"]);
        assert!(read.is_property(&["upstream", "uri_san_peer_certificate"]));
        assert!(!read.is_property(&["upstream"]));
        assert!(!read.is_property(&["upstream", "uri_san_peer"]));
        assert!(!read.is_property(&["upstream", "uri_san_peer_certificate", "x"]));
        assert!(!read.is_property(&["upstreamuri_san_peer_certificate"]));
        assert!(Read::of_property(&["a"]).is_property(&["a"]));
        assert!(!Read::of_property(&["a"]).is_property(&[]));
        // The default `property_joined` splits the path back into segments.
        let h = host(b"x");
        assert_eq!(Read::of_property(&["a"]).on(&h).as_deref(), Some(&b"x"[..]));
        assert_eq!(h.reads.get(), 1);
    }

    #[test]
    fn the_tree_stops_growing_at_its_cap() {
        let mut memo = Memo::default();
        let reads = |i: usize| vec![(Read::of_property(&["a"]), Some(i.to_le_bytes().to_vec()))];
        let mut i = 0;
        while memo.nodes.len() + 2 <= Memo::MAX_NODES {
            memo.insert(b"r", &reads(i), [Some(1), None, None, None]);
            i += 1;
        }
        let full = memo.nodes.len();
        memo.insert(b"r", &reads(i + 1), [Some(1), None, None, None]);
        assert_eq!(memo.nodes.len(), full);
        assert!(matches!(memo.walk(b"r", &host(b"new")), Walk::Miss(_)));
    }
}

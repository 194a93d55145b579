//! Peer metadata with the fewest reads Envoy allows: each peer's whole
//! `google.protobuf.Struct` in one `upstream_peer` / `downstream_peer` read
//! (why one read is also the least work for Envoy: `encoding::protobuf`),
//! its fields answered from it.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

use super::cel::{Attributes, HeaderMap};
use crate::encoding::protobuf::struct_fields;

/// [`Attributes`] over `inner` that reads each peer's metadata once, whole.
pub struct PeerAttributes<'a> {
    inner: &'a dyn Attributes,
    upstream: OnceCell<Peer>,
    downstream: OnceCell<Peer>,
}

/// A peer's metadata as one read gave it.
enum Peer {
    /// Envoy has none: every field is absent too.
    Absent,
    /// The Struct's bytes and its fields as ranges of them (one copy of
    /// the bytes, no allocation per field); `None` for a value that is not
    /// a string.
    Fields(Vec<u8>, Vec<(Range<usize>, Option<Range<usize>>)>),
    /// Not a Struct (an older proxy's encoding): fields are read one by one.
    Opaque,
}

/// Where `part`, a subslice of `whole`, lies in it.
fn range(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    start..start.saturating_add(part.len())
}

impl Peer {
    fn read(inner: &dyn Attributes, root: &str) -> Peer {
        let Some(bytes) = inner.property(&[root]) else {
            return Peer::Absent;
        };
        let fields = match struct_fields(&bytes) {
            Some(fields) => fields
                .into_iter()
                .map(|(k, v)| (range(&bytes, k), v.map(|v| range(&bytes, v))))
                .collect(),
            None => return Peer::Opaque,
        };
        Peer::Fields(bytes.into_owned(), fields)
    }
}

impl<'a> PeerAttributes<'a> {
    pub fn new(inner: &'a dyn Attributes) -> Self {
        PeerAttributes {
            inner,
            upstream: OnceCell::new(),
            downstream: OnceCell::new(),
        }
    }

    /// A peer field from the peer's one read: `Some(answer)`, or `None`
    /// when `inner` must be asked.
    fn peer_field(&self, root: &str, field: &str) -> Option<Option<&[u8]>> {
        let cell = match root {
            "upstream_peer" => &self.upstream,
            "downstream_peer" => &self.downstream,
            _ => return None,
        };
        match cell.get_or_init(|| Peer::read(self.inner, root)) {
            Peer::Absent => Some(None),
            Peer::Opaque => None,
            Peer::Fields(bytes, fields) => {
                let key = |r: &Range<usize>| bytes.get(r.clone());
                match fields
                    .iter()
                    .find(|(k, _)| key(k) == Some(field.as_bytes()))
                {
                    None => Some(None),
                    Some((_, Some(value))) => Some(key(value)),
                    Some((_, None)) => None,
                }
            }
        }
    }
}

impl Attributes for PeerAttributes<'_> {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
        if let [root, field] = path
            && let Some(answer) = self.peer_field(root, field)
        {
            return answer.map(Cow::Borrowed);
        }
        self.inner.property(path)
    }

    fn header(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, str>> {
        self.inner.header(map, name)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::PeerAttributes;
    use crate::telemetry::cel::Attributes;

    use crate::test_support::Host;

    fn len(field: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![field << 3 | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
    }

    fn entry(key: &str, string: &str) -> Vec<u8> {
        let mut e = len(1, key.as_bytes());
        e.extend(len(2, &len(3, string.as_bytes())));
        len(1, &e)
    }

    #[test]
    fn a_struct_is_read_once_and_answers_every_field() {
        let mut peer = entry("workload", "reviews-v2");
        peer.extend(entry("namespace", "prod"));
        let host = Host {
            props: vec![("upstream_peer", peer)],
            reads: RefCell::new(Vec::new()),
        };
        let attrs = PeerAttributes::new(&host);
        let get = |f: &str| {
            attrs
                .property(&["upstream_peer", f])
                .map(|v| v.into_owned())
        };
        assert_eq!(get("workload").as_deref(), Some(&b"reviews-v2"[..]));
        assert_eq!(get("namespace").as_deref(), Some(&b"prod"[..]));
        assert_eq!(get("app"), None);
        assert_eq!(*host.reads.borrow(), ["upstream_peer"]);
        // Anything else goes to the host.
        assert_eq!(attrs.property(&["response", "code"]), None);
        assert_eq!(host.reads.borrow().len(), 2);
    }

    #[test]
    fn an_absent_peer_is_read_once_and_an_opaque_one_field_by_field() {
        let host = Host {
            props: vec![
                ("downstream_peer", b"\xff\xff".to_vec()),
                ("downstream_peer.app", b"ratings".to_vec()),
            ],
            reads: RefCell::new(Vec::new()),
        };
        let attrs = PeerAttributes::new(&host);
        assert_eq!(attrs.property(&["upstream_peer", "app"]), None);
        assert_eq!(attrs.property(&["upstream_peer", "workload"]), None);
        assert_eq!(
            attrs
                .property(&["downstream_peer", "app"])
                .map(|v| v.into_owned()),
            Some(b"ratings".to_vec())
        );
        assert_eq!(
            *host.reads.borrow(),
            ["upstream_peer", "downstream_peer", "downstream_peer.app"]
        );
    }
}

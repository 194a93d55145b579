//! Unit-test helpers shared by the engine's modules (compiled for tests only).

use std::borrow::Cow;
use std::cell::RefCell;

use crate::telemetry::cel::{Attributes, HeaderMap};

/// A host answering properties by their dotted path; records every read.
pub(crate) struct Host {
    pub(crate) props: Vec<(&'static str, Vec<u8>)>,
    pub(crate) reads: RefCell<Vec<String>>,
}

impl Attributes for Host {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
        let joined = path.join(".");
        self.reads.borrow_mut().push(joined.clone());
        self.props
            .iter()
            .find(|(k, _)| *k == joined)
            .map(|(_, v)| Cow::Borrowed(v.as_slice()))
    }
    fn header(&self, _: HeaderMap, _: &str) -> Option<Cow<'_, str>> {
        None
    }
}

/// proxy-wasm's serialized map of `pairs` (a u32 count, the u32 sizes, then
/// each key and value with a NUL), written here independently of
/// `encoding::pairs::encode` so that tests can check it.
pub(crate) fn encode_pairs(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = u32::try_from(pairs.len()).unwrap().to_le_bytes().to_vec();
    for (k, v) in pairs {
        out.extend(u32::try_from(k.len()).unwrap().to_le_bytes());
        out.extend(u32::try_from(v.len()).unwrap().to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend(*k);
        out.push(0);
        out.extend(*v);
        out.push(0);
    }
    out
}

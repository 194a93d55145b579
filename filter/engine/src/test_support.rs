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

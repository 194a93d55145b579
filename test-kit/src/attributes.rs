//! CEL attributes from maps: what the filter reads from Envoy
//! (`get_property` bytes, header maps), set by a test.

use std::borrow::Cow;
use std::collections::HashMap;

use meshpolicy_cel::{Attributes, HeaderMap};

/// Envoy attributes for CEL and telemetry tests. Properties are keyed by
/// their dotted path (`request.host`) and hold Envoy's encoding (strings
/// as UTF-8, integers as 8 little-endian bytes); headers by lower-case name.
#[derive(Debug, Default, Clone)]
pub struct FakeAttributes {
    pub properties: HashMap<String, Vec<u8>>,
    pub request_headers: HashMap<String, String>,
    pub response_headers: HashMap<String, String>,
}

impl FakeAttributes {
    /// A property in its raw encoding.
    pub fn with_bytes(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.properties.insert(path.to_string(), bytes.into());
        self
    }

    /// A string property.
    pub fn with_str(self, path: &str, value: &str) -> Self {
        self.with_bytes(path, value.as_bytes())
    }

    /// An integer property (Envoy: 8 bytes, little-endian).
    pub fn with_int(self, path: &str, value: i64) -> Self {
        self.with_bytes(path, value.to_le_bytes())
    }

    /// A request header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.request_headers
            .insert(name.to_string(), value.to_string());
        self
    }

    /// A response header.
    pub fn with_response_header(mut self, name: &str, value: &str) -> Self {
        self.response_headers
            .insert(name.to_string(), value.to_string());
        self
    }
}

impl Attributes for FakeAttributes {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
        self.properties
            .get(&path.join("."))
            .map(|v| Cow::Borrowed(v.as_slice()))
    }

    fn header(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, str>> {
        let headers = match map {
            HeaderMap::Request => &self.request_headers,
            HeaderMap::Response => &self.response_headers,
            HeaderMap::ResponseTrailers => return None,
        };
        headers.get(name).map(|v| Cow::Borrowed(v.as_str()))
    }
}

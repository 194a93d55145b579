//! Header lists as Envoy holds them: names and values are bytes. Envoy's
//! codecs pass obs-text (`0x80..=0xFF`) in values, which need not be
//! UTF-8, and a filter may write any bytes; the host keeps them as they
//! are. The public API takes anything that is bytes (`&str` included) and
//! has `&str` readers that replace invalid UTF-8, beside byte readers.

use std::borrow::Cow;

/// One header: name (lower-cased where Envoy lower-cases it) and value.
pub(crate) type Header = (Vec<u8>, Vec<u8>);

/// Headers in order.
pub(crate) type Headers = Vec<Header>;

/// `headers` as bytes, names lower-cased as Envoy's codecs do.
pub(crate) fn lowered<K: AsRef<[u8]>, V: AsRef<[u8]>>(headers: &[(K, V)]) -> Headers {
    headers
        .iter()
        .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().to_vec()))
        .collect()
}

/// `headers` as bytes, names as they are.
pub(crate) fn bytes<K: AsRef<[u8]>, V: AsRef<[u8]>>(headers: &[(K, V)]) -> Headers {
    headers
        .iter()
        .map(|(k, v)| (k.as_ref().to_vec(), v.as_ref().to_vec()))
        .collect()
}

/// `headers` as text, invalid UTF-8 replaced (U+FFFD).
pub(crate) fn strings(headers: &[Header]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// The first value of `name`.
pub(crate) fn get<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|(k, _)| k.as_slice() == name.as_bytes())
        .map(|(_, v)| v.as_slice())
}

/// The first value of `name` as text, invalid UTF-8 replaced.
pub(crate) fn text<'a>(headers: &'a [Header], name: &str) -> Option<Cow<'a, str>> {
    get(headers, name).map(String::from_utf8_lossy)
}

/// The byte size of a map (keys plus values), as Envoy counts it.
pub(crate) fn byte_size(headers: &[Header]) -> usize {
    headers.iter().map(|(k, v)| k.len() + v.len()).sum()
}

//! What `decide` looks at: one request, borrowed from the caller.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The proxy's own workload, from node metadata (`LABELS`, `NAMESPACE`);
/// computed once per VM by the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// One request. Header names are lower-case; pseudo-headers (`:path`,
/// `:method`, `:authority`, `:scheme`) are included.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub headers: &'a [(String, String)],
    pub source: &'a SourceInfo,
    /// Destination port (`destination.port`, else the port in `:authority`).
    pub port: Option<u32>,
    /// Randomness for the unsticky split and fault percentages.
    pub random: u64,
    /// The virtual host Envoy selected (`xds.virtual_host_name`), when the
    /// proxy exposes it: it then decides which policy host applies.
    pub virtual_host: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// The value of header `name` (lower-case). Several values are joined
    /// with `,` as Envoy's header matcher sees them.
    pub fn header(&self, name: &str) -> Option<Cow<'a, str>> {
        let mut values = self.header_values(name);
        let first = values.next()?;
        let Some(second) = values.next() else {
            return Some(Cow::Borrowed(first));
        };
        // One allocation of the joined size (a chain of `format!`s copied
        // the growing prefix once per value: quadratic in the values).
        let mut joined = String::with_capacity(
            self.header_values(name)
                .map(|v| v.len().saturating_add(1))
                .sum(),
        );
        joined.push_str(first);
        for v in std::iter::once(second).chain(values) {
            joined.push(',');
            joined.push_str(v);
        }
        Some(Cow::Owned(joined))
    }

    /// Every value of header `name`, in order, without joining them.
    pub fn header_values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        let headers: &'a [(String, String)] = self.headers;
        headers
            .iter()
            .filter(move |(n, _)| bytes::eq_ignore_ascii_case(n.as_bytes(), name.as_bytes()))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name`, without joining.
    pub fn first_header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| bytes::eq_ignore_ascii_case(n.as_bytes(), name.as_bytes()))
            .map(|(_, v)| v.as_str())
    }

    /// `:path` as sent (query string included); empty when missing.
    pub fn path(&self) -> &'a str {
        self.first_header(":path").unwrap_or("")
    }
}

/// `path` split at the first `?`: (path without query, query with its `?`).
pub(crate) fn split_query(path: &str) -> (&str, &str) {
    match bytes::find(path.as_bytes(), b'?') {
        Some(i) => path.split_at_checked(i).unwrap_or((path, "")),
        None => (path, ""),
    }
}

/// The first value of query parameter `name` in `query` (starting with `?` or
/// not), compared raw (no percent-decoding), as Envoy's route matcher does
/// (envoy source/common/router/config_impl.cc `RouteEntryImplBase::matchRoute`
/// uses `QueryParamsMulti::parseQueryString`, then the first value).
/// A parameter without `=` has the empty value.
pub(crate) fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

/// The first value of every query parameter in `query`, as [`query_param`]
/// finds each: one pass over the query.
pub(crate) fn first_query_values(query: &str) -> std::collections::BTreeMap<&str, &str> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let query = query.split('#').next().unwrap_or(query);
    let mut first = std::collections::BTreeMap::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        first.entry(k).or_insert(v);
    }
    first
}

/// The value of cookie `name` in a `cookie` header value.
pub(crate) fn cookie<'c>(header: &'c str, name: &str) -> Option<&'c str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

pub(crate) mod bytes;

#[cfg(test)]
mod tests;

//! One request as the route matchers and actions see it: `:path` split
//! once, query parameters parsed once when a rule first asks for one.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use crate::request::{Request, first_query_values, split_query};

/// One request, with `:path` split once.
pub(crate) struct View<'r, 'a> {
    pub(crate) req: &'r Request<'a>,
    /// `:path` as sent.
    pub(crate) path: &'a str,
    /// `:path` without the query string.
    pub(crate) path_only: &'a str,
    /// The query string with its `?` (or empty).
    pub(crate) query: &'a str,
    /// The first value of each query parameter, parsed once per request:
    /// looking one up per rule scanned the whole query each time (a 60 KiB
    /// query through 5,000 query rules ran the filter out of fuel).
    params: OnceCell<BTreeMap<&'a str, &'a str>>,
}

// === impl View ===

impl<'r, 'a> View<'r, 'a> {
    pub(crate) fn new(req: &'r Request<'a>) -> Self {
        let path = req.path();
        let (path_only, query) = split_query(path);
        Self {
            req,
            path,
            path_only,
            query,
            params: OnceCell::new(),
        }
    }

    /// The first value of query parameter `name` (see
    /// [`query_param`](crate::request::query_param)).
    pub(crate) fn query_param(&self, name: &str) -> Option<&'a str> {
        self.params
            .get_or_init(|| first_query_values(self.query))
            .get(name)
            .copied()
    }
}

//! `explain`'s account of a decision: every rule tried and why it did or did
//! not match, then what the matched rule did.

use serde::Serialize;

/// One rule tried, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTrace {
    /// The virtual service the rule belongs to.
    pub virtual_service: String,
    /// Index in that virtual service's `http`.
    pub index: usize,
    pub name: String,
    pub matched: bool,
    /// For a match: which entry matched. Otherwise: per entry, the first
    /// condition that failed (`match[0]: uri.prefix `/a` does not match `/b``).
    pub reasons: Vec<String>,
}

/// The whole account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Trace {
    /// Which host and virtual service(s) govern the request, and why.
    pub host: Option<String>,
    pub rules: Vec<RuleTrace>,
    /// What the matched rule did: rewrite, split, headers, local response.
    pub actions: Vec<String>,
}

//! What Envoy does with a decision: the header edits applied to a header map
//! with Envoy's semantics (`HeaderMapImpl`: `setCopy` gives the first entry
//! the value and drops the others, else appends; `addCopy` appends;
//! `remove` drops every entry; a pseudo-header goes before the regular
//! ones). The filter applies a decision through host calls; tests and tools
//! apply it to a header list with [`HeaderList`], so both are compared on
//! the same terms.

use crate::decision::{Decision, HeaderOp, LocalResponse};

/// A header map a decision is applied to. Names are lower-case.
pub trait HeaderSink {
    /// Envoy's `setCopy`: the first entry takes the value, the others go.
    fn set(&mut self, name: &str, value: &str);
    /// Envoy's `addCopy`: one more entry.
    fn add(&mut self, name: &str, value: &str);
    /// Envoy's `remove`: every entry goes.
    fn remove(&mut self, name: &str);
    /// Whether the map may hold `name` as it was before [`Decision::apply`]
    /// began. A removal of a header the map does not hold, and that no
    /// earlier edit of the same apply wrote, does nothing in Envoy, so it is
    /// skipped (for the filter, a host call saved). The default says "may".
    fn held(&self, _name: &str) -> bool {
        true
    }
}

impl Decision {
    /// What Envoy does with the decision on the request path. A decision
    /// that answers the request itself (redirect, directResponse, abort, a
    /// refused rewrite) returns its local response and edits nothing: the
    /// caller sends it. Otherwise `:path` when rewritten, then the header
    /// edits in order (the first removes a client-sent decision header, the
    /// last sets it). `:authority` is never written (the key's route
    /// rewrites it).
    pub fn apply(&self, request: &mut impl HeaderSink) -> Option<&LocalResponse> {
        if let Some(response) = &self.local_response {
            return Some(response);
        }
        if let Some(path) = &self.path {
            request.set(":path", path);
        }
        apply_ops(&self.request_headers, request);
        None
    }

    /// The response edits, in order (when the upstream's response headers
    /// arrive). A decision answered locally edits no response: its local
    /// response is all the client gets.
    pub fn apply_response(&self, response: &mut impl HeaderSink) {
        if self.local_response.is_some() {
            return;
        }
        apply_ops(&self.response_headers, response);
    }
}

fn apply_ops(ops: &[HeaderOp], sink: &mut impl HeaderSink) {
    for (i, op) in ops.iter().enumerate() {
        match op {
            HeaderOp::Set { name, value } => sink.set(name, value),
            HeaderOp::Add { name, value } => sink.add(name, value),
            HeaderOp::Remove { name } => {
                // Written by an earlier edit of this apply (looked up in
                // the edits themselves: no list of names is allocated).
                let written = |op: &HeaderOp| match op {
                    HeaderOp::Set { name: w, .. } | HeaderOp::Add { name: w, .. } => {
                        w.eq_ignore_ascii_case(name)
                    }
                    HeaderOp::Remove { .. } => false,
                };
                if sink.held(name) || ops.get(..i).is_some_and(|done| done.iter().any(written)) {
                    sink.remove(name);
                }
            }
        }
    }
}

/// A header list with Envoy's header-map semantics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList(pub Vec<(String, String)>);

impl HeaderList {
    fn insert(&mut self, name: &str, value: &str) {
        let entry = (name.to_owned(), value.to_owned());
        if name.starts_with(':') {
            let at = self
                .0
                .iter()
                .position(|(k, _)| !k.starts_with(':'))
                .unwrap_or(self.0.len());
            self.0.insert(at, entry);
        } else {
            self.0.push(entry);
        }
    }
}

impl HeaderSink for HeaderList {
    fn set(&mut self, name: &str, value: &str) {
        match self.0.iter().position(|(k, _)| k == name) {
            Some(first) => {
                let mut at = 0;
                self.0.retain(|(k, _)| {
                    let keep = k != name || at == first;
                    at += 1;
                    keep
                });
                if let Some(slot) = self.0.iter_mut().find(|(k, _)| k == name) {
                    value.clone_into(&mut slot.1);
                }
            }
            None => self.insert(name, value),
        }
    }

    fn add(&mut self, name: &str, value: &str) {
        self.insert(name, value);
    }

    fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| k != name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &str)]) -> HeaderList {
        HeaderList(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// A sink that records the calls it gets and holds only `x-held`.
    #[derive(Default)]
    struct Calls(Vec<String>);

    impl HeaderSink for Calls {
        fn set(&mut self, name: &str, value: &str) {
            self.0.push(format!("set {name}: {value}"));
        }
        fn add(&mut self, name: &str, value: &str) {
            self.0.push(format!("add {name}: {value}"));
        }
        fn remove(&mut self, name: &str) {
            self.0.push(format!("remove {name}"));
        }
        fn held(&self, name: &str) -> bool {
            name == "x-held"
        }
    }

    fn op(kind: &str, name: &str, value: &str) -> HeaderOp {
        let (name, value) = (name.into(), value.into());
        match kind {
            "set" => HeaderOp::Set { name, value },
            "add" => HeaderOp::Add { name, value },
            _ => HeaderOp::Remove { name },
        }
    }

    fn decision(request: Vec<HeaderOp>, path: Option<&str>) -> Decision {
        Decision {
            host: None,
            rule: None,
            path: path.map(str::to_owned),
            authority: None,
            request_headers: request,
            response_headers: vec![op("remove", "x-absent", "")],
            destination: None,
            local_response: None,
            rewrite_rejected: None,
            labels: crate::DecisionLabels {
                policy_rule: "unknown".into(),
                policy_destination: "unknown".into(),
            },
        }
    }

    /// The decision of `ops` and `path`, and the sink calls its `apply`
    /// makes (it edits: no local response).
    fn applied(ops: Vec<HeaderOp>, path: Option<&str>) -> (Decision, Vec<String>) {
        let d = decision(ops, path);
        let mut calls = Calls::default();
        assert!(d.apply(&mut calls).is_none());
        (d, calls.0)
    }

    #[test]
    fn apply_writes_the_path_then_the_edits_and_skips_removing_what_is_not_there() {
        let (d, calls) = applied(
            vec![
                op("remove", "x-meshpolicy-route", ""),
                op("remove", "x-held", ""),
                op("add", "x-new", "1"),
                op("remove", "X-New", ""),
                op("set", "x-meshpolicy-route", "k"),
            ],
            Some("/new"),
        );
        assert_eq!(
            calls,
            [
                "set :path: /new",
                "remove x-held",
                "add x-new: 1",
                "remove X-New",
                "set x-meshpolicy-route: k"
            ]
        );
        // The response side knows nothing held either.
        let mut response = Calls::default();
        d.apply_response(&mut response);
        assert!(response.0.is_empty(), "{:?}", response.0);
        let mut list = list(&[("x-absent", "1")]);
        d.apply_response(&mut list);
        assert_eq!(list, HeaderList::default());
    }

    #[test]
    fn a_removal_sees_only_the_edits_before_it() {
        let (_, calls) = applied(
            vec![
                op("remove", "x-later", ""),
                op("set", "x-set", "1"),
                op("remove", "X-SET", ""),
                op("set", "x-later", "2"),
            ],
            None,
        );
        assert_eq!(calls, ["set x-set: 1", "remove X-SET", "set x-later: 2"]);
    }

    #[test]
    fn a_local_response_is_returned_and_nothing_is_edited() {
        let mut d = decision(vec![op("set", "x-a", "1")], Some("/new"));
        d.local_response = Some(LocalResponse {
            status: 301,
            headers: vec![("location".into(), "http://x/".into())],
            body: String::new(),
        });
        let mut calls = Calls::default();
        assert_eq!(d.apply(&mut calls).map(|r| r.status), Some(301));
        assert!(calls.0.is_empty(), "{:?}", calls.0);
    }

    #[test]
    fn set_keeps_the_first_entry_add_appends_remove_drops_all() {
        let mut h = list(&[(":path", "/"), ("a", "1"), ("b", "x"), ("a", "2")]);
        h.set("a", "3");
        assert_eq!(h, list(&[(":path", "/"), ("a", "3"), ("b", "x")]));
        h.add("a", "4");
        h.set(":authority", "r");
        assert_eq!(
            h,
            list(&[
                (":path", "/"),
                (":authority", "r"),
                ("a", "3"),
                ("b", "x"),
                ("a", "4")
            ])
        );
        h.remove("a");
        assert_eq!(h, list(&[(":path", "/"), (":authority", "r"), ("b", "x")]));
    }
}

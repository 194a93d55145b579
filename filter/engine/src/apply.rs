//! What Envoy does with a decision: the header edits applied to a header map
//! with Envoy's semantics (`HeaderMapImpl`: `setCopy` gives the first entry
//! the value and drops the others, else appends; `addCopy` appends;
//! `remove` drops every entry; a pseudo-header goes before the regular
//! ones). The filter applies a decision through host calls; tests and tools
//! apply it to a header list with [`HeaderList`], so both are compared on
//! the same terms.

use crate::decision::{Decision, HeaderOp};

/// A header map a decision is applied to. Names are lower-case.
pub trait HeaderSink {
    fn set(&mut self, name: &str, value: &str);
    fn add(&mut self, name: &str, value: &str);
    fn remove(&mut self, name: &str);
}

impl Decision {
    /// The request edits: `:path` when rewritten, then the header edits in
    /// order (the first removes a client-sent decision header, the last sets
    /// it). `:authority` is never written (the key's route rewrites it).
    pub fn apply_request(&self, sink: &mut impl HeaderSink) {
        if let Some(path) = &self.path {
            sink.set(":path", path);
        }
        apply_ops(&self.request_headers, sink);
    }

    /// The response edits, in order.
    pub fn apply_response(&self, sink: &mut impl HeaderSink) {
        apply_ops(&self.response_headers, sink);
    }
}

fn apply_ops(ops: &[HeaderOp], sink: &mut impl HeaderSink) {
    for op in ops {
        match op {
            HeaderOp::Set { name, value } => sink.set(name, value),
            HeaderOp::Add { name, value } => sink.add(name, value),
            HeaderOp::Remove { name } => sink.remove(name),
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

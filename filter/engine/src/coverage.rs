//! What `policy-cli test --coverage` needs to know beyond a decision: which
//! match entry of the deciding rule a request satisfied, and the decision
//! keys of a rule's destinations. Off the fast path: `decide` never calls it.

use std::sync::Arc;

use crate::policy::Policy;
use crate::request::Request;
use crate::route::rule::{Action, CompiledRule};
use crate::route::view::View;

impl Policy {
    fn rule_at(&self, virtual_service: usize, index: usize) -> Option<&CompiledRule> {
        self.rules
            .iter()
            .find(|r| r.vs_index == virtual_service && r.index == index)
    }

    /// The first match entry of rule `index` of virtual service
    /// `virtual_service` that `req` satisfies; `None` when none does or the
    /// rule has no `match` (it then matches everything).
    pub fn matched_entry(
        &self,
        req: &Request<'_>,
        virtual_service: usize,
        index: usize,
    ) -> Option<usize> {
        let rule = self.rule_at(virtual_service, index)?;
        let view = View::new(req);
        rule.matches.iter().position(|m| m.eval(&view).is_ok())
    }

    /// The decision keys of a rule's `route` entries, in order; empty for a
    /// redirect or a direct response.
    pub fn route_keys(&self, virtual_service: usize, index: usize) -> Vec<Arc<str>> {
        match self.rule_at(virtual_service, index).map(|r| &r.action) {
            Some(Action::Route(route)) => route.dests.iter().map(|d| d.dest.key.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

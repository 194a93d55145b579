//! One `http[i]` rule: what it is compiled into, how it is compiled from
//! the model (its matchers from `route/match/`, its actions from
//! `route/action/`, Istio's one-action-per-rule check) and which of its
//! entries a request satisfies.

use std::sync::Arc;

use crate::decision::HeaderOp;
use crate::error::lazy::field;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::index::Key;
use crate::model::HttpRule;
use crate::route::action::fault::FaultAbort;
use crate::route::action::redirect::RedirectAction;
use crate::route::action::rewrite::PathRewrite;
use crate::route::action::route::{Route, RouteScope};
use crate::route::action::{direct, fault, header_ops, redirect, rewrite, route};
use crate::route::r#match::{CompiledMatch, Matched, compile_matches, implicit_prefix};
use crate::route::view::View;
use crate::router::RouterOptions;
use crate::warning::Warning;

/// A compiled `http[i]` rule.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) name: Arc<str>,
    /// Its virtual service (index in `spec.virtualServices`) and its index
    /// in that virtual service's `http`.
    pub(crate) vs_index: usize,
    pub(crate) index: usize,
    /// Empty: the rule matches every request.
    pub(crate) matches: Vec<CompiledMatch>,
    pub(crate) rewrite_path: Option<PathRewrite>,
    pub(crate) rewrite_authority: Option<Arc<str>>,
    pub(crate) fault: Option<FaultAbort>,
    pub(crate) request_ops: Vec<HeaderOp>,
    pub(crate) response_ops: Vec<HeaderOp>,
    pub(crate) action: Action,
    /// What Envoy's router enforces for the rule; never read by `decide`.
    pub(crate) router: Option<Arc<RouterOptions>>,
}

/// What the rule does with a matched request: exactly one of `route`,
/// `redirect`, `directResponse`, as in Istio.
#[derive(Debug)]
pub(crate) enum Action {
    Route(Route),
    Redirect(RedirectAction),
    Direct { status: u32, body: Arc<str> },
}

// === impl CompiledRule ===

impl CompiledRule {
    /// At most how many request header edits a decision of this rule has:
    /// the decision header's removal, the destination's, the rule's, and the
    /// decision header's set (one allocation per decision).
    pub(crate) fn request_edits(&self) -> usize {
        let dest = match &self.action {
            Action::Route(route) => route
                .dests
                .iter()
                .map(|d| d.request_ops.len())
                .max()
                .unwrap_or(0),
            Action::Redirect(_) | Action::Direct { .. } => 0,
        };
        dest + self.request_ops.len() + 2
    }

    /// The first entry that matches, in entry order.
    pub(crate) fn eval(&self, view: &View<'_, '_>) -> Option<Matched> {
        if self.matches.is_empty() {
            return Some(implicit_prefix(view.path));
        }
        self.matches.iter().find_map(|m| m.eval(view).ok())
    }
}

// === compile ===

/// Where a rule sits: its virtual service and the namespace short hosts
/// resolve in.
pub(crate) struct RuleScope<'a> {
    pub(crate) vs: &'a str,
    pub(crate) vs_index: usize,
    pub(crate) namespace: Option<&'a str>,
}

pub(crate) fn compile_rule<'r>(
    rule: &'r HttpRule,
    i: usize,
    scope: &RuleScope<'_>,
    path: &LazyPath<'_>,
    decision_header: &str,
    errors: &mut Errors,
    warnings: &mut Vec<Warning>,
) -> (CompiledRule, Option<Vec<Key<'r>>>) {
    let name: Arc<str> = match &rule.name {
        Some(n) => Arc::from(n.as_str()),
        None => Arc::from(format!("{}.http[{i}]", scope.vs)),
    };
    check_conflicts(rule, path, errors);

    let (matches, keys) = match &rule.match_ {
        Some(entries) => compile_matches(entries, &field(path, "match"), errors),
        // No `match`: every request; not indexable (always a candidate).
        None => (Vec::new(), None),
    };
    // `match: []` matches everything too: never index it.
    let keys = keys.filter(|k| !k.is_empty());

    let (rewrite_path, rewrite_authority) = match &rule.rewrite {
        Some(r) => rewrite::compile(r, &field(path, "rewrite"), errors),
        None => (None, None),
    };
    let router = crate::router::compile::options(rule, path, scope.namespace, errors, warnings)
        .map(Arc::new);
    let fault = rule
        .fault
        .as_ref()
        .and_then(|f| fault::compile(f, &field(path, "fault"), errors));
    let ops = header_ops::compile(
        rule.headers.as_ref(),
        &field(path, "headers"),
        decision_header,
        errors,
    );

    let action = if let Some(r) = &rule.redirect {
        Action::Redirect(redirect::compile(r, &field(path, "redirect"), errors))
    } else if let Some(d) = &rule.direct_response {
        let (status, body) = direct::compile(d, &field(path, "directResponse"), errors);
        Action::Direct { status, body }
    } else {
        let list = rule.route.as_deref().unwrap_or(&[]);
        let route_scope = RouteScope {
            namespace: scope.namespace,
            authority: rewrite_authority.as_deref(),
            options: router.as_deref().map(|o| o.hash.as_str()),
        };
        Action::Route(route::compile(
            list,
            rule.sticky.as_ref(),
            &route_scope,
            &field(path, "route"),
            path,
            decision_header,
            errors,
        ))
    };
    if rule.sticky.is_some()
        && !matches!(&action, Action::Route(Route { dests, .. }) if !dests.is_empty())
    {
        errors.push(&field(path, "sticky"), PolicyErrorKind::StickyWithoutRoute);
    }
    let compiled = CompiledRule {
        name,
        vs_index: scope.vs_index,
        index: i,
        matches,
        rewrite_path,
        rewrite_authority,
        fault,
        request_ops: ops.request,
        response_ops: ops.response,
        action,
        router,
    };
    (compiled, keys)
}

/// Exactly one of route/redirect/directResponse; Istio's conflict messages
/// (pkg/config/validation/virtualservice.go `validateHTTPRouteConflict`).
fn check_conflicts(rule: &HttpRule, path: &LazyPath<'_>, errors: &mut Errors) {
    let has_route = rule.route.as_ref().is_some_and(|r| !r.is_empty());
    // the action set, as Istio names it, and whether `direct_response`
    // conflicts with it too
    let (name, second, with_direct) = if rule.redirect.is_some() {
        ("redirect", "redirect", true)
    } else if rule.direct_response.is_some() {
        ("directResponse", "direct_response", false)
    } else {
        if !has_route {
            errors.push(path, PolicyErrorKind::NoAction);
        }
        return;
    };
    let at = field(path, name);
    let conflicts = [
        (has_route, "HTTP route", "route"),
        (rule.fault.is_some(), "HTTP route", "fault"),
        (rule.rewrite.is_some(), "HTTP route rule", "rewrite"),
        (
            with_direct && rule.direct_response.is_some(),
            "HTTP route rule",
            "direct_response",
        ),
    ];
    for (set, subject, first) in conflicts {
        if set {
            errors.push(
                &at,
                PolicyErrorKind::ConflictingFields {
                    subject,
                    first,
                    second,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldPath;

    /// Every conflict Istio reports, in its order, for each action.
    #[test]
    fn conflicts_are_reported_as_istio_does_for_each_action() {
        let rule = |v: serde_json::Value| -> HttpRule { serde_json::from_value(v).unwrap() };
        let all = rule(serde_json::json!({
            "redirect": {"uri": "/x"}, "directResponse": {"status": 200},
            "route": [{"destination": {"host": "a"}}],
            "fault": {"abort": {"httpStatus": 503}}, "rewrite": {"uri": "/y"}}));
        let direct = rule(serde_json::json!({
            "directResponse": {"status": 200},
            "route": [{"destination": {"host": "a"}}],
            "fault": {"abort": {"httpStatus": 503}}, "rewrite": {"uri": "/y"}}));
        let none = rule(serde_json::json!({"route": []}));
        let root = FieldPath::fields(&["http"]).index(0);
        let at = LazyPath::from(&root);
        let report = |r: &HttpRule| {
            let mut errors = Errors::default();
            check_conflicts(r, &at, &mut errors);
            errors
                .list
                .iter()
                .map(|e| format!("{}: {}", e.path, e.kind))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            report(&all),
            [
                "http[0].redirect: HTTP route cannot contain both route and redirect",
                "http[0].redirect: HTTP route cannot contain both fault and redirect",
                "http[0].redirect: HTTP route rule cannot contain both rewrite and redirect",
                "http[0].redirect: HTTP route rule cannot contain both direct_response and redirect",
            ]
        );
        assert_eq!(
            report(&direct),
            [
                "http[0].directResponse: HTTP route cannot contain both route and direct_response",
                "http[0].directResponse: HTTP route cannot contain both fault and direct_response",
                "http[0].directResponse: HTTP route rule cannot contain both rewrite and direct_response",
            ]
        );
        assert_eq!(
            report(&none),
            ["http[0]: HTTP route, redirect or direct_response is required"]
        );
    }
}

//! `TrafficPolicy` -> `Policy`: validate everything (every error at once,
//! each with its field path) and compile regexes and the rule index once.

mod actions;
mod matching;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Errors, PolicyErrors, field, item, key};
use crate::index::RuleIndex;
use crate::limits::{MAX_HEADER_NAME_BYTES, MAX_RULES};
use crate::model::{HttpRule, TrafficPolicy};
use crate::policy::{Action, CompiledRule, Policy, Route};

/// The `apiVersion` and `kind` of a policy document.
pub const API_VERSION: &str = "meshpolicy.dev/v1alpha1";
pub const KIND: &str = "TrafficPolicy";
/// Default `spec.settings.decisionHeader`.
pub const DEFAULT_DECISION_HEADER: &str = "x-meshpolicy-subset";
/// Default `spec.settings.metricPrefix`.
pub const DEFAULT_METRIC_PREFIX: &str = "meshpolicy_";

pub(crate) fn compile(doc: &TrafficPolicy) -> Result<Policy, PolicyErrors> {
    let mut errors = Errors::default();
    // An empty apiVersion/kind is accepted (a bare pluginConfig); a wrong one is not.
    if !doc.api_version.is_empty() && doc.api_version != API_VERSION {
        errors.push(
            "apiVersion",
            format!(
                "unsupported apiVersion `{}`, expected `{API_VERSION}`",
                doc.api_version
            ),
        );
    }
    if !doc.kind.is_empty() && doc.kind != KIND {
        errors.push(
            "kind",
            format!("unsupported kind `{}`, expected `{KIND}`", doc.kind),
        );
    }
    let spec = &doc.spec;
    let settings = spec.settings.clone().unwrap_or_default();
    let decision_header = settings
        .decision_header
        .as_deref()
        .unwrap_or(DEFAULT_DECISION_HEADER)
        .to_ascii_lowercase();
    if settings.decision_header.is_some() {
        let p = "spec.settings.decisionHeader";
        check_header_name(&decision_header, p, &mut errors);
        if decision_header.starts_with(':') || decision_header == "host" {
            errors.push(
                p,
                format!("`{decision_header}` cannot be the decision header"),
            );
        }
    }
    // `spec.telemetry` and `spec.settings.metricPrefix` belong to the telemetry module.
    let telemetry = crate::telemetry::compile_into(
        &spec.telemetry,
        settings.metric_prefix.as_deref(),
        &mut errors,
    );
    check_subsets(&spec.subsets, &mut errors);

    if spec.http.len() > MAX_RULES {
        errors.push(
            "spec.http",
            format!(
                "too many rules ({}), the limit is {MAX_RULES}",
                spec.http.len()
            ),
        );
    }
    crate::cost::check_regexes(&spec.http, "spec.http", &mut errors);
    let mut rules = Vec::with_capacity(spec.http.len());
    let mut index = RuleIndex::default();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, rule) in spec.http.iter().enumerate() {
        let path = item("spec.http", i);
        if let Some(name) = rule.name.as_deref()
            && let Some(first) = names.insert(name, i)
        {
            errors.push(
                &field(&path, "name"),
                format!("duplicate route name `{name}`, also used by spec.http[{first}]"),
            );
            names.insert(name, first);
        }
        let (compiled, keys) = compile_rule(rule, i, &path, &decision_header, &mut errors);
        if let Ok(id) = u32::try_from(i) {
            index.add(id, keys.as_deref());
        }
        rules.push(compiled);
    }
    errors.into_result()?;
    let uses_port = rules
        .iter()
        .any(|rule| rule.matches.iter().any(|m| m.port.is_some()));
    Ok(Policy {
        rules,
        index,
        uses_port,
        decision_header: Arc::from(decision_header),
        telemetry,
        unknown: Arc::from("unknown"),
    })
}

fn compile_rule<'r>(
    rule: &'r HttpRule,
    i: usize,
    path: &str,
    decision_header: &str,
    errors: &mut Errors,
) -> (CompiledRule, Option<Vec<crate::index::Key<'r>>>) {
    let name: Arc<str> = match &rule.name {
        Some(n) => Arc::from(n.as_str()),
        None => Arc::from(format!("http[{i}]")),
    };
    check_conflicts(rule, path, errors);

    let (matches, keys) = match &rule.match_ {
        Some(entries) => matching::compile_matches(entries, &field(path, "match"), errors),
        // No `match`: every request; not indexable (always a candidate).
        None => (Vec::new(), None),
    };
    // `match: []` matches everything too: never index it.
    let keys = keys.filter(|k| !k.is_empty());

    let (rewrite_path, rewrite_authority) = match &rule.rewrite {
        Some(r) => actions::rewrite(r, &field(path, "rewrite"), errors),
        None => (None, None),
    };
    let fault = rule
        .fault
        .as_ref()
        .and_then(|f| actions::fault(f, &field(path, "fault"), errors));
    let ops = actions::header_ops(
        rule.headers.as_ref(),
        &field(path, "headers"),
        decision_header,
        errors,
    );

    let action = if let Some(r) = &rule.redirect {
        Action::Redirect(actions::redirect(r, &field(path, "redirect"), errors))
    } else if let Some(d) = &rule.direct_response {
        let (status, body) = actions::direct_response(d, &field(path, "directResponse"), errors);
        Action::Direct { status, body }
    } else {
        let list = rule.route.as_deref().unwrap_or(&[]);
        Action::Route(actions::route(
            list,
            rule.sticky.as_ref(),
            &field(path, "route"),
            path,
            decision_header,
            errors,
        ))
    };
    if rule.sticky.is_some()
        && !matches!(&action, Action::Route(Route { dests, .. }) if !dests.is_empty())
    {
        errors.push(&field(path, "sticky"), "sticky requires `route`");
    }
    let compiled = CompiledRule {
        name,
        matches,
        rewrite_path,
        rewrite_authority,
        fault,
        request_ops: ops.request,
        response_ops: ops.response,
        action,
    };
    (compiled, keys)
}

/// Exactly one of route/redirect/directResponse; Istio's conflict messages
/// (pkg/config/validation/virtualservice.go `validateHTTPRouteConflict`).
fn check_conflicts(rule: &HttpRule, path: &str, errors: &mut Errors) {
    let has_route = rule.route.as_ref().is_some_and(|r| !r.is_empty());
    if rule.redirect.is_some() {
        let at = field(path, "redirect");
        if has_route {
            errors.push(&at, "HTTP route cannot contain both route and redirect");
        }
        if rule.fault.is_some() {
            errors.push(&at, "HTTP route cannot contain both fault and redirect");
        }
        if rule.rewrite.is_some() {
            errors.push(
                &at,
                "HTTP route rule cannot contain both rewrite and redirect",
            );
        }
        if rule.direct_response.is_some() {
            errors.push(
                &at,
                "HTTP route rule cannot contain both direct_response and redirect",
            );
        }
    } else if rule.direct_response.is_some() {
        let at = field(path, "directResponse");
        if has_route {
            errors.push(
                &at,
                "HTTP route cannot contain both route and direct_response",
            );
        }
        if rule.fault.is_some() {
            errors.push(
                &at,
                "HTTP route cannot contain both fault and direct_response",
            );
        }
        if rule.rewrite.is_some() {
            errors.push(
                &at,
                "HTTP route rule cannot contain both rewrite and direct_response",
            );
        }
    } else if !has_route {
        errors.push(path, "HTTP route, redirect or direct_response is required");
    }
}

fn check_subsets(
    subsets: &BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    errors: &mut Errors,
) {
    for (host, by_name) in subsets {
        let hp = key("spec.subsets", host);
        if host.is_empty() {
            errors.push(&hp, "host must not be empty");
        }
        for name in by_name.keys() {
            if !is_dns1123_label(name) {
                errors.push(&key(&hp, name), format!("subset name is invalid: `{name}`"));
            }
        }
    }
}

/// RFC 7230 token, at most `MAX_HEADER_NAME_BYTES`; pseudo-headers allowed
/// (callers decide where they are not).
pub(crate) fn check_header_name(name: &str, path: &str, errors: &mut Errors) {
    let body = name.strip_prefix(':').unwrap_or(name);
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if body.is_empty() || !body.bytes().all(token) {
        errors.push(path, format!("invalid header name `{name}`"));
    } else if name.len() > MAX_HEADER_NAME_BYTES {
        errors.push(
            path,
            format!(
                "header name is {} bytes long, the limit is {MAX_HEADER_NAME_BYTES}",
                name.len()
            ),
        );
    }
}

/// Kubernetes DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63.
pub(crate) fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && b.iter().all(|c| alnum(c) || *c == b'-')
}

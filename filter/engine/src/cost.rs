//! The per-request cost of a policy, bounded when it is compiled, so no
//! request can cost the filter more than a stated budget (issue 15 item 1).
//!
//! Matching a regex is linear in the value it scans (the `regex` crate's
//! lazy DFA, enabled in the workspace dependency whatever cargo unifies;
//! about 26 wasm instructions per byte on the `.wasm`), and a default Envoy
//! hands a filter at most 60 KiB of request headers (100 of them; larger
//! requests get its 431 first). The worst request makes every regex of the
//! policy scan one 60 KiB value, so the number of regexes bounds the work:
//! [`MAX_REGEXES`] regexes cost at most about 1.6e8 instructions per
//! request, under 10% of the fuel a host gives one callback (`host-tests`
//! measures it: `tests/filter/worst_case.rs`).

use crate::error::{Errors, FieldPath, PolicyErrorKind, PolicyErrors, field};
use crate::hosts::vs_path;
use crate::limits::{MAX_POLICY_REGEXES, MAX_REGEXES};
use crate::model::{HttpRule, StringMatch, VirtualService};

/// The regex bounds of every virtual service and of the whole policy,
/// checked before any regex is compiled: past one, the policy is refused
/// with these errors (and those found so far) and nothing is compiled.
pub(crate) fn check_all_regexes(
    services: &[VirtualService],
    errors: &mut Errors,
) -> Result<(), PolicyErrors> {
    let before = errors.list.len();
    let mut total = 0;
    for (v, vs) in services.iter().enumerate() {
        total += check_regexes(&vs.http, &field(&vs_path(v), "http"), errors);
    }
    check_policy_regexes(total, errors);
    if errors.list.len() > before {
        return Err(PolicyErrors {
            errors: std::mem::take(&mut errors.list),
        });
    }
    Ok(())
}

/// Refuses a virtual service with more than [`MAX_REGEXES`] regexes in its
/// rules (`match` regexes of every field, and `rewrite.uriRegexRewrite`);
/// returns how many it has.
fn check_regexes(http: &[HttpRule], path: &FieldPath, errors: &mut Errors) -> usize {
    let count = http.iter().map(rule_regexes).sum();
    if count > MAX_REGEXES {
        errors.push(
            path,
            PolicyErrorKind::TooManyRuleRegexes {
                count,
                limit: MAX_REGEXES,
            },
        );
    }
    count
}

/// Refuses a policy with more than [`MAX_POLICY_REGEXES`] regexes in all:
/// compiling them is most of what `on_configure` costs, and the worst
/// regex the size limit allows costs about [`REGEX_COMPILE_FUEL`](crate::limits::REGEX_COMPILE_FUEL) wasm
/// instructions, so the limit keeps a configure within
/// [`CONFIGURE_FUEL`](crate::limits::CONFIGURE_FUEL) (`host-tests`: `tests/filter/limits.rs`).
fn check_policy_regexes(count: usize, errors: &mut Errors) {
    if count > MAX_POLICY_REGEXES {
        errors.push(
            &FieldPath::fields(&["spec", "virtualServices"]),
            PolicyErrorKind::TooManyPolicyRegexes {
                count,
                limit: MAX_POLICY_REGEXES,
            },
        );
    }
}

/// The regexes of one rule: the `regex` of every string match (the seven
/// match fields and CORS `allowOrigins`) and a `rewrite.uriRegexRewrite`,
/// read from the typed rule (serialising each rule to count them cost about
/// a tenth of configuring a policy of prefix rules).
fn rule_regexes(rule: &HttpRule) -> usize {
    let is_regex = |sm: &StringMatch| usize::from(sm.regex.is_some());
    let entries: usize = rule
        .match_
        .iter()
        .flatten()
        .map(|m| {
            [&m.uri, &m.scheme, &m.method, &m.authority]
                .into_iter()
                .flatten()
                .map(is_regex)
                .sum::<usize>()
                + [&m.headers, &m.without_headers, &m.query_params]
                    .into_iter()
                    .flat_map(|map| map.values())
                    .map(is_regex)
                    .sum::<usize>()
        })
        .sum();
    let rewrite = rule
        .rewrite
        .as_ref()
        .map_or(0, |r| usize::from(r.uri_regex_rewrite.is_some()));
    let cors: usize = rule
        .cors_policy
        .iter()
        .flat_map(|c| c.allow_origins.iter().flatten())
        .map(is_regex)
        .sum();
    entries + rewrite + cors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_regex_of_every_field_counts() {
        let rules: Vec<HttpRule> = serde_json::from_value(json!([
            {"match": [{"uri": {"regex": "/a.*"}, "headers": {"x": {"regex": "b+"}, "y": {"exact": "c"}}},
                       {"queryParams": {"q": {"regex": "d"}}, "withoutHeaders": {"z": {"regex": "e"}}}],
             "rewrite": {"uriRegexRewrite": {"match": "f", "rewrite": "g"}},
             "corsPolicy": {"allowOrigins": [{"regex": "i"}, {"exact": "j"}]}},
            {"match": [{"authority": {"regex": "h"}, "method": {"exact": "GET"},
                        "scheme": {"regex": "k"}}],
             "headers": {"request": {"set": {"regex": "not a pattern"}}}}
        ]))
        .unwrap();
        assert_eq!(rules.iter().map(rule_regexes).sum::<usize>(), 8);
        assert_eq!(rule_regexes(&HttpRule::default()), 0);
    }
}

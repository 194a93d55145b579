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
use crate::model::{HttpRule, VirtualService};

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
    let Ok(value) = serde_json::to_value(http) else {
        return 0;
    };
    let count = count_regexes(&value);
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

fn count_regexes(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let own = usize::from(
                    (k == "regex" && v.is_string()) || (k == "uriRegexRewrite" && v.is_object()),
                );
                own + count_regexes(v)
            })
            .sum(),
        serde_json::Value::Array(items) => items.iter().map(count_regexes).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_regex_of_every_field_counts() {
        let rules = json!([
            {"match": [{"uri": {"regex": "/a.*"}, "headers": {"x": {"regex": "b+"}, "y": {"exact": "c"}}},
                       {"queryParams": {"q": {"regex": "d"}}, "withoutHeaders": {"z": {"regex": "e"}}}],
             "rewrite": {"uriRegexRewrite": {"match": "f", "rewrite": "g"}}},
            {"match": [{"authority": {"regex": "h"}, "method": {"exact": "GET"}}]}
        ]);
        assert_eq!(count_regexes(&rules), 6);
    }
}

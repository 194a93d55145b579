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

use crate::error::Errors;
use crate::limits::MAX_REGEXES;
use crate::model::HttpRule;

/// Refuses a policy with more than [`MAX_REGEXES`] regexes in its rules
/// (`match` regexes of every field, and `rewrite.uriRegexRewrite`).
pub(crate) fn check_regexes(http: &[HttpRule], path: &str, errors: &mut Errors) {
    let Ok(value) = serde_json::to_value(http) else {
        return;
    };
    let count = count_regexes(&value);
    if count > MAX_REGEXES {
        errors.push(
            path,
            format!(
                "the rules have {count} regexes, the limit is {MAX_REGEXES} \
                 (each may scan a 60 KiB header of every request)"
            ),
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

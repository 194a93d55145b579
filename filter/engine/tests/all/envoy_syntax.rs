//! Issue 15 item 5: rewrites and header edits never produce what Envoy
//! rejects. One test per probe of the issue ("Rewrites can produce what
//! Envoy would reject"), named after the defect: refused at configure time
//! with the field's path, or (a path built at request time) refused with a
//! 400 and never applied.

use serde_json::{Value, json};

use crate::support::{Req, rule_errors, rules};

/// The single error of one rule, as (path, message).
fn one_error(rule: Value) -> (String, String) {
    let e = rule_errors(json!([rule]));
    assert_eq!(e.errors.len(), 1, "{e}");
    let first = &e.errors[0];
    (first.path.to_string(), first.message())
}

fn routed(extra: Value) -> Value {
    let mut rule =
        json!({"match": [{"uri": {"prefix": "/"}}], "route": [{"destination": {"host": "a"}}]});
    for (k, v) in extra.as_object().unwrap() {
        rule[k] = v.clone();
    }
    rule
}

const RULE: &str = "spec.virtualServices[0].http[0]";

/// The message of the single error of a routed rule with `extra`, which
/// must be at `field` of the rule.
fn refused_at(extra: Value, field: &str) -> String {
    let (path, message) = one_error(routed(extra));
    assert_eq!(path, format!("{RULE}.{field}"));
    message
}

#[test]
fn rewrite_uri_with_a_space_is_refused() {
    let message = refused_at(json!({"rewrite": {"uri": "/a b"}}), "rewrite.uri");
    assert_eq!(
        message,
        "rewrite uri `/a b` is not a path Envoy accepts: a space at byte 2 \
         (only printable ASCII without `#`, percent-encode the rest)"
    );
}

#[test]
fn rewrite_uri_with_a_fragment_is_refused() {
    let message = refused_at(json!({"rewrite": {"uri": "/a#frag"}}), "rewrite.uri");
    assert!(message.contains("`#` at byte 2"), "{message}");
}

#[test]
fn rewrite_uri_with_raw_non_ascii_is_refused() {
    let message = refused_at(json!({"rewrite": {"uri": "/caf\u{e9}"}}), "rewrite.uri");
    assert!(
        message.contains("non-ASCII byte 0xc3 at byte 4"),
        "{message}"
    );
    // percent-encoded, it is a path Envoy sends
    rules(json!([routed(json!({"rewrite": {"uri": "/caf%C3%A9"}}))]));
}

#[test]
fn regex_rewrite_writing_a_space_is_refused_at_configure_time() {
    let message = refused_at(
        json!({"rewrite": {"uriRegexRewrite": {"match": "^/a(.*)$", "rewrite": "/b \\1"}}}),
        "rewrite.uriRegexRewrite.rewrite",
    );
    assert!(
        message.contains("writes a space into the path"),
        "{message}"
    );
}

#[test]
fn regex_rewrite_producing_a_space_at_request_time_is_answered_400_not_applied() {
    // The literal is fine; the group copies a tab (Envoy's HTTP/1 codec
    // accepts HT in a request target) into a path no codec may send on.
    let p = rules(json!([routed(
        json!({"rewrite": {"uriRegexRewrite": {"match": "^/a(.*)$", "rewrite": "/b\\1"}},
               "headers": {"request": {"set": {"x-rule": "1"}}}})
    )]));
    let ok = Req::get("/a/x").decide(&p);
    assert_eq!(ok.path.as_deref(), Some("/b/x"));
    let d = Req::get("/a\tx").decide(&p);
    assert_eq!(d.path, None, "never applied");
    let why = d.rewrite_rejected.as_deref().unwrap_or_default();
    assert_eq!(
        why,
        "rewritten path `/b\\tx` is not a path Envoy accepts: a tab at byte 2 \
         (only printable ASCII without `#`, percent-encode the rest)"
    );
    let local = d.local_response.as_ref().expect("a local response");
    assert_eq!((local.status, local.body.as_str()), (400, "Bad Request"));
    assert_eq!(d.destination, None, "the request goes nowhere");
    assert_eq!(
        d.request_headers.len(),
        1,
        "only the decision header's removal: {:?}",
        d.request_headers
    );
    // explain says so
    let trace = Req::get("/a\tx").explain(&p);
    assert!(
        trace
            .actions
            .iter()
            .any(|a| a.starts_with("rewrite refused, answered 400")),
        "{:?}",
        trace.actions
    );
}

#[test]
fn rewrite_authority_with_a_space_is_refused() {
    let message = refused_at(
        json!({"rewrite": {"authority": "evil host:80"}}),
        "rewrite.authority",
    );
    assert_eq!(
        message,
        "authority `evil host:80` is not a host[:port]: a space at byte 4"
    );
    let (_, message) = one_error(routed(json!({"rewrite": {"authority": "ratings:http"}})));
    assert!(message.contains("has port `http`"), "{message}");
    rules(json!([routed(
        json!({"rewrite": {"authority": "ratings.prod:9080"}})
    )]));
}

#[test]
fn header_value_with_control_character_0x01_is_refused() {
    for side in ["request", "response"] {
        for verb in ["set", "add"] {
            let message = refused_at(
                json!({"headers": {side: {verb: {"x-a": "a\u{1}b"}}}}),
                &format!("headers.{side}.{verb}.x-a"),
            );
            assert_eq!(
                message,
                "header value contains control character 0x01 at byte 1: \
                 Envoy refuses control characters in header values"
            );
        }
    }
    // at destination level too
    let e = rule_errors(json!([{"route": [{"destination": {"host": "a"},
        "headers": {"request": {"set": {"x-a": "\u{1}"}}}}]}]));
    assert_eq!(
        e.paths(),
        vec![format!("{RULE}.route[0].headers.request.set.x-a")]
    );
}

#[test]
fn header_value_with_del_0x7f_is_refused() {
    let message = refused_at(
        json!({"headers": {"request": {"add": {"x-a": "a\u{7f}"}}}}),
        "headers.request.add.x-a",
    );
    assert!(message.contains("DEL (0x7f) at byte 1"), "{message}");
    // what Envoy accepts stays accepted: tab, space, obs-text
    rules(json!([routed(
        json!({"headers": {"request": {"set": {"x-a": "a b\tc\u{e9}"}}}})
    )]));
}

#[test]
fn redirect_targets_envoy_would_reject_are_refused() {
    let e = rule_errors(json!([
        {"redirect": {"uri": "/a b"}},
        {"redirect": {"authority": "evil host"}},
        {"redirect": {"uri": "/ok#top", "authority": "ok.example:8443"}},
    ]));
    assert_eq!(
        e.paths(),
        vec![
            "spec.virtualServices[0].http[0].redirect.uri",
            "spec.virtualServices[0].http[1].redirect.authority",
        ],
        "a fragment is fine in a Location: {e}"
    );
}

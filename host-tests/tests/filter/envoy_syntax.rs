//! Issue 15 item 5 on the `.wasm`: a regex rewrite that would build a
//! `:path` Envoy refuses is never applied; the filter answers `400` as
//! Envoy's codec answers such a request line, and nothing goes upstream.

use host_tests::Action;
use serde_json::json;

use super::support::{plugin, policy, request_to};

#[test]
fn regex_rewrite_producing_a_space_at_request_time_is_answered_400_not_applied() {
    let config = policy(json!({"http": [{
        "match": [{"uri": {"prefix": "/a"}}],
        "rewrite": {"uriRegexRewrite": {"match": "^/a(.*)$", "rewrite": "/b\\1"}},
        "route": [{"destination": {"host": "a"}}]
    }]}));
    let mut plugin = plugin(&config);
    let send = |plugin: &mut host_tests::Plugin, path: &str| {
        let outcome = request_to(plugin, "shop.example", path, &[]);
        (outcome.action, outcome.upstream, outcome.local)
    };
    // an ordinary path is rewritten
    let (action, upstream, local) = send(&mut plugin, "/a/x");
    assert_eq!(action, Action::Continue);
    assert!(local.is_none());
    let upstream = upstream.expect("forwarded");
    assert!(
        upstream.iter().any(|(k, v)| k == ":path" && v == "/b/x"),
        "{upstream:?}"
    );
    // Envoy's HTTP/1 codec passes a tab in the request target; the group
    // copies it into a path no codec may send on
    let (action, upstream, local) = send(&mut plugin, "/a\tx");
    assert_ne!(action, Action::Continue);
    assert!(upstream.is_none(), "nothing goes upstream: {upstream:?}");
    let local = local.expect("a local response");
    assert_eq!(
        (local.status, local.body.as_slice()),
        (400, &b"Bad Request"[..])
    );
    assert!(!plugin.is_failed(), "{:?}", plugin.failure());
    assert!(
        plugin.logs().iter().any(|l| l
            .message
            .contains("rewritten path `/b\\tx` is not a path Envoy accepts")),
        "the filter logs why: {:?}",
        plugin.logs()
    );
}

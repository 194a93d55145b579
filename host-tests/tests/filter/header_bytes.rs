//! Issue 15 item 7 on the `.wasm`: a header value with obs-text bytes that
//! are not UTF-8 (Envoy's codecs pass `0x80..=0xFF`) does not trap the
//! filter (the SDK's header reader would: `String::from_utf8(..).unwrap()`),
//! matches no regex it does not match, lets a catch-all route, and reaches
//! the upstream byte for byte.

use host_tests::Action;
use serde_json::json;

use super::support::{plugin, policy};

const BINARY: &[u8] = b"Bearer \xff\xfe\x80";

#[test]
fn non_utf8_header_bytes_do_not_trap_the_filter_match_no_regex_and_reach_upstream() {
    let config = policy(json!({"http": [
        {"name": "token", "match": [{"headers": {"authorization": {"regex": "Bearer [A-Za-z0-9]+"}}}],
         "route": [{"destination": {"host": "token"}}]},
        {"name": "bearer", "match": [{"headers": {"authorization": {"prefix": "Bearer "}}, "uri": {"prefix": "/prefix"}}],
         "route": [{"destination": {"host": "bearer"}}]},
        {"name": "all", "route": [{"destination": {"host": "other"}}]}
    ]}));
    let mut plugin = plugin(&config);
    let mut send = |path: &str, authorization: &[u8]| {
        let mut stream = plugin.new_stream();
        let request: Vec<(&[u8], &[u8])> = vec![
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":authority", b"reviews:9080"),
            (b":path", path.as_bytes()),
            (b"authorization", authorization),
        ];
        let action = stream.request_headers_bytes(&request, true);
        let upstream = stream.request_headers_seen_upstream_bytes();
        stream.complete();
        (action, upstream.expect("forwarded upstream"))
    };
    let key = |upstream: &[(Vec<u8>, Vec<u8>)]| {
        upstream
            .iter()
            .find(|(k, _)| k == b"x-meshpolicy-route")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    // the regex rule routes a token it matches (the test can fail)
    let (action, upstream) = send("/p", b"Bearer abc");
    assert_eq!(action, Action::Continue);
    assert!(key(&upstream).starts_with("token."), "{}", key(&upstream));
    // non-UTF-8 bytes: no regex match, the catch-all routes, bytes kept
    let (action, upstream) = send("/p", BINARY);
    assert_eq!(action, Action::Continue);
    assert!(key(&upstream).starts_with("other."), "{}", key(&upstream));
    assert!(
        upstream.contains(&(b"authorization".to_vec(), BINARY.to_vec())),
        "{upstream:?}"
    );
    // the value did reach the engine: its ASCII prefix matches
    let (_, upstream) = send("/prefix", BINARY);
    assert!(key(&upstream).starts_with("bearer."), "{}", key(&upstream));
    assert!(!plugin.is_failed(), "{:?}", plugin.failure());
}

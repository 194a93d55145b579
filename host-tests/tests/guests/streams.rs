//! `guest-probe`'s stream modes: pause and deferred continue from a tick,
//! local replies (immediate and deferred), an http call that resumes the
//! stream, and closing a stream.

use crate::abi_status::{probes, start_probe};
use host_tests::WasmResult::Ok;
use host_tests::{Action, HttpCallResponse, HttpStream, Plugin};
use std::time::Duration;

const REQUEST: &[(&str, &str)] = &[(":method", "GET"), (":path", "/p"), (":authority", "h")];

/// A new stream of `plugin` that sent [`REQUEST`]'s headers, and what the
/// filter chain answered.
fn send(plugin: &mut Plugin, end_of_stream: bool) -> (HttpStream<'_>, Action) {
    let mut stream = plugin.new_stream();
    let action = stream.request_headers(REQUEST, end_of_stream);
    (stream, action)
}

#[test]
fn a_pause_holds_the_request_until_a_tick_continues_it() {
    let mut plugin = start_probe("pause");
    let (mut stream, action) = send(&mut plugin, false);
    assert_eq!(
        action,
        Action::StopAllIterationAndWatermark,
        "a headers pause"
    );
    assert!(stream.request_headers_seen_upstream().is_none(), "held");
    // The body arrives while the headers are held: Envoy queues it.
    assert_eq!(stream.request_body(b"queued", true), Action::NotDelivered);
    let id = stream.id();

    plugin.advance_clock(Duration::from_millis(10));
    let p = probes(&plugin);
    p.expect("set_tick_period", Ok, "10");
    p.expect("set_effective_context", Ok, &id.to_string());
    p.expect("deferred_continue", Ok, "");
    let stream = plugin.stream(id).expect("the stream is still open");
    assert!(
        stream.request_headers_seen_upstream().is_some(),
        "continued"
    );
    assert_eq!(stream.request_body_seen_upstream(), b"queued");
}

#[test]
fn a_deferred_local_reply_from_a_tick_answers_the_held_stream() {
    let mut plugin = start_probe("pause-local");
    let (stream, action) = send(&mut plugin, true);
    assert!(action.is_stop());
    let id = stream.id();
    plugin.advance_clock(Duration::from_millis(10));
    let p = probes(&plugin);
    p.expect("deferred_local_response", Ok, "");
    let stream = plugin.stream(id).expect("the stream is still open");
    let local = stream.local_response().expect("a local reply");
    assert_eq!(local.status, 429);
    assert_eq!(local.details, "probe_deferred");
    assert_eq!(local.body, b"slow down");
    assert_eq!(
        local.headers,
        vec![("retry-after".to_string(), "1".to_string())]
    );
    assert!(stream.request_headers_seen_upstream().is_none());
}

#[test]
fn a_local_reply_overrides_continue() {
    let mut plugin = start_probe("local");
    let (stream, action) = send(&mut plugin, true);
    assert!(
        action.is_stop(),
        "a local reply stops the chain: {action:?}"
    );
    let local = stream.local_response().expect("a local reply").clone();
    assert!(stream.request_headers_seen_upstream().is_none());
    assert_eq!(local.status, 403);
    assert_eq!(local.details, "probe_denied");
    assert_eq!(local.body, b"denied");
    assert_eq!(
        local.headers,
        vec![("x-probe-reason".to_string(), "mode".to_string())]
    );
    probes(&plugin).expect("local_response", Ok, "");
}

#[test]
fn an_http_call_answered_by_the_test_resumes_the_stream() {
    let mut plugin = start_probe("http-call");
    let (stream, action) = send(&mut plugin, true);
    assert!(action.is_stop());
    let id = stream.id();
    let calls = plugin.http_calls().to_vec();
    assert_eq!(calls.len(), 1, "one call dispatched");
    let call = &calls[0];
    assert_eq!(call.upstream, "auth-cluster");
    assert_eq!(call.body, b"ping");
    assert_eq!(call.timeout, Duration::from_millis(500));
    // cpp-host's `http_call` acts on the root context: the answer goes there.
    assert_eq!(call.context_id, 1);
    assert!(
        call.headers
            .contains(&(":path".to_string(), "/check".to_string()))
    );
    let token = call.token;
    probes(&plugin).expect("http_call", Ok, &token.to_string());

    let mut response = HttpCallResponse::new(200, "pong");
    response.headers.push(("x-r".to_string(), "1".to_string()));
    plugin.respond_http_call(token, response);
    let p = probes(&plugin);
    assert_eq!(
        p.get("on_http_call_response").status,
        1,
        "delivered to the root"
    );
    assert_eq!(p.value("on_http_call_response"), format!("{token} 2 4 0"));
    p.expect("call_response_headers", Ok, ":status=200;x-r=1");
    p.expect("call_response_body", Ok, "pong");
    assert_eq!(p.status("get_status"), Ok);
    p.expect("effective_context_after_call", Ok, &id.to_string());
    p.expect("continue_after_call", Ok, "");
    let stream = plugin.stream(id).expect("the stream is still open");
    assert!(stream.request_headers_seen_upstream().is_some(), "resumed");
}

#[test]
fn close_stream_resets_it() {
    let mut plugin = start_probe("close");
    let (mut stream, _) = send(&mut plugin, true);
    assert!(stream.was_reset(), "proxy_close_stream resets the stream");
    assert_eq!(
        stream.response_headers(&[(":status", "200")], true),
        Action::NotDelivered
    );
    probes(&plugin).expect("close_stream", Ok, "");
}

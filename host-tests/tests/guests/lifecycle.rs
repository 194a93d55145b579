//! `guest-sdk`: a filter written with the proxy-wasm Rust SDK. The SDK traps
//! on any status it does not expect, so these runs also check that the host
//! answers as Envoy does.

use crate::support::{assert_counter, guest};
use host_tests::{Action, HttpCallResponse, Plugin, PluginOptions, SharedStore};
use std::time::Duration;

const REQUEST: &[(&str, &str)] = &[(":method", "GET"), (":path", "/p"), (":authority", "h")];

fn start(config: &str) -> Plugin {
    let plugin = Plugin::start(
        &guest("sdk"),
        PluginOptions {
            plugin_config: config.as_bytes().to_vec(),
            vm_config: b"vm-conf".to_vec(),
            ..PluginOptions::default()
        },
    )
    .expect("guest-sdk starts");
    assert!(plugin.configured(), "guest-sdk configured with `{config}`");
    plugin
}

fn messages(plugin: &Plugin) -> Vec<String> {
    plugin.logs().iter().map(|l| l.message.clone()).collect()
}

fn with_header<'a>(name: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut headers = REQUEST.to_vec();
    headers.push((name, value));
    headers
}

fn has(headers: &[(String, String)], name: &str, value: &str) -> bool {
    headers.iter().any(|(k, v)| k == name && v == value)
}

#[test]
fn a_request_walks_every_callback() {
    let mut plugin = start("");
    let mut stream = plugin.new_stream();
    let id = stream.id();
    assert_eq!(stream.request_headers(REQUEST, false), Action::Continue);
    assert_eq!(
        stream.request_body(b"abc", false),
        Action::StopIterationAndBuffer
    );
    assert_eq!(stream.request_body(b"def", true), Action::Continue);
    let upstream = stream.request_headers_seen_upstream().expect("forwarded");
    assert!(has(&upstream, "x-sdk-seen", "1"));
    assert_eq!(stream.request_body_seen_upstream(), b"ABCDEF");
    assert_eq!(
        stream.response_headers(&[(":status", "200")], false),
        Action::Continue
    );
    let downstream = stream
        .response_headers_seen_downstream()
        .expect("forwarded");
    assert!(has(&downstream, "x-sdk-response", "200"));
    assert!(has(&downstream, "x-sdk-trace", "a") && has(&downstream, "x-sdk-trace", "b"));
    assert_eq!(stream.response_body(b"bye", true), Action::Continue);
    stream.complete();

    let logs = messages(&plugin);
    let expected = [
        "sdk vm_start 1 vm-conf".to_string(),
        "sdk configure ".to_string(),
        format!("sdk request_headers {id} 3 3 false"),
        "sdk request_body abcdef".to_string(),
        "sdk response_body bye".to_string(),
        format!("sdk log {id} /p 200"),
        format!("sdk done {id}"),
    ];
    let got: Vec<&String> = logs.iter().filter(|m| m.starts_with("sdk ")).collect();
    assert_eq!(got, expected.iter().collect::<Vec<_>>());
    assert_counter(&plugin, "sdk_requests_total", 1);
}

#[test]
fn ticks_follow_the_test_clock_and_feed_the_queue() {
    let mut plugin = start("tick=100");
    plugin.advance_clock(Duration::from_millis(250));
    let logs = messages(&plugin);
    let ticks: Vec<u128> = logs
        .iter()
        .filter_map(|m| m.strip_prefix("sdk tick "))
        .map(|rest| rest.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(ticks.len(), 2, "two ticks in 250 ms: {logs:?}");
    assert_eq!(
        ticks[1] - ticks[0],
        100_000_000,
        "ticks 100 ms apart on the test clock"
    );
    let queued: Vec<&str> = logs
        .iter()
        .filter_map(|m| m.strip_prefix("sdk queue "))
        .collect();
    assert_eq!(queued, ["1", "2"], "on_queue_ready delivered each item");
}

/// Sends request headers with `x-sdk: action` on a new stream of
/// `plugin`, which the guest must hold; returns the stream's id.
fn held(plugin: &mut Plugin, action: &str) -> u32 {
    let mut stream = plugin.new_stream();
    let request = with_header("x-sdk", action);
    assert!(stream.request_headers(&request, true).is_stop(), "{action}");
    stream.id()
}

#[test]
fn an_http_call_resumes_or_denies() {
    let mut plugin = start("");
    for (status, allowed) in [(200, true), (500, false)] {
        let id = held(&mut plugin, "call");
        let calls = plugin.http_calls().to_vec();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].upstream, "auth-cluster");
        assert_eq!(calls[0].body, b"check");
        assert_eq!(calls[0].timeout, Duration::from_secs(2));
        let token = calls[0].token;
        plugin.respond_http_call(token, HttpCallResponse::new(status, "verdict"));
        let stream = plugin.stream(id).expect("still open");
        if allowed {
            let upstream = stream.request_headers_seen_upstream().expect("resumed");
            assert!(has(&upstream, "x-auth", "ok"));
            assert!(stream.local_response().is_none());
        } else {
            let local = stream.local_response().expect("denied");
            assert_eq!(local.status, 403);
            assert_eq!(local.body, b"denied by auth\n");
            assert!(stream.request_headers_seen_upstream().is_none());
        }
        assert!(
            messages(&plugin).contains(&format!("sdk call_response {token} 1 {status} verdict")),
            "the call response reached the caller"
        );
    }
}

#[test]
fn a_local_reply_from_the_sdk() {
    let mut plugin = start("");
    let mut stream = plugin.new_stream();
    assert!(
        stream
            .request_headers(&with_header("x-sdk", "deny"), true)
            .is_stop()
    );
    let local = stream.local_response().expect("a local reply");
    assert_eq!(local.status, 401);
    assert_eq!(local.body, b"no\n");
    assert_eq!(
        local.headers,
        vec![("www-authenticate".to_string(), "Basic".to_string())]
    );
}

#[test]
fn shared_data_counts_across_streams() {
    let mut plugin = start("");
    for expected in ["1", "2", "3"] {
        let mut stream = plugin.new_stream();
        assert_eq!(
            stream.request_headers(&with_header("x-sdk", "shared"), true),
            Action::Continue
        );
        let upstream = stream.request_headers_seen_upstream().expect("forwarded");
        assert!(has(&upstream, "x-sdk-count", expected), "{upstream:?}");
    }
}

#[test]
fn a_paused_stream_resumes_on_the_next_tick() {
    let mut plugin = start("tick=50");
    let id = held(&mut plugin, "pause");
    plugin.advance_clock(Duration::from_millis(50));
    assert!(messages(&plugin).contains(&format!("sdk resumed {id}")));
    let stream = plugin.stream(id).expect("still open");
    assert!(
        stream.request_headers_seen_upstream().is_some(),
        "resumed by the tick"
    );
}

#[test]
fn a_rejected_configuration_is_reported_not_an_error() {
    let plugin = Plugin::start(
        &guest("sdk"),
        PluginOptions {
            plugin_config: b"reject".to_vec(),
            ..PluginOptions::default()
        },
    )
    .expect("a rejected configuration still starts the vm");
    assert!(!plugin.configured());
}

#[test]
fn plugins_of_one_vm_id_share_data_through_one_store() {
    let shared = SharedStore::new();
    let start_in_vm = || {
        Plugin::start(
            &guest("sdk"),
            PluginOptions {
                vm_id: "sdk-vm".to_string(),
                shared: shared.clone(),
                ..PluginOptions::default()
            },
        )
        .expect("guest-sdk starts")
    };
    let mut first = start_in_vm();
    let mut second = start_in_vm();
    for (use_first, expected) in [(true, "1"), (false, "2"), (true, "3")] {
        let plugin = if use_first { &mut first } else { &mut second };
        let mut stream = plugin.new_stream();
        stream.request_headers(&with_header("x-sdk", "shared"), true);
        let upstream = stream.request_headers_seen_upstream().expect("forwarded");
        assert!(has(&upstream, "x-sdk-count", expected), "{upstream:?}");
    }
    let (value, _cas) = shared.get("sdk-vm", b"sdk-count").expect("stored");
    assert_eq!(value, b"3");
    let mut other_vm = start("");
    let mut stream = other_vm.new_stream();
    stream.request_headers(&with_header("x-sdk", "shared"), true);
    let upstream = stream.request_headers_seen_upstream().expect("forwarded");
    assert!(
        has(&upstream, "x-sdk-count", "1"),
        "another vm id has its own data"
    );
}

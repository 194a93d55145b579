//! Loading: a missing import is named, a module without WASI runs, and the
//! floor guest works.

use crate::support::{guest, guest_bytes, host};
use host_tests::{AbiVersion, Action, Error, MetricValue, Plugin, PluginOptions};

#[test]
fn a_missing_import_fails_the_load_naming_it() {
    let err = host()
        .load_bytes(&guest_bytes("missing-import"))
        .expect_err("the import does not exist");
    match &err {
        Error::MissingImport { module, name } => {
            assert_eq!(module, "env");
            assert_eq!(name, "proxy_no_such_function_for_tests");
        }
        other => panic!("expected a missing import, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("`env.proxy_no_such_function_for_tests`")
    );
}

#[test]
fn a_module_without_wasi_loads_and_runs() {
    let module = guest("nowasi");
    assert_eq!(module.abi_version(), AbiVersion::V0_2_1);
    let mut plugin = Plugin::start(&module, PluginOptions::default()).expect("starts");
    assert!(plugin.configured());
    let mut stream = plugin.new_stream();
    let action = stream.request_headers(&[(":path", "/"), (":method", "GET")], true);
    assert_eq!(action, Action::Continue);
    let upstream = stream.request_headers_seen_upstream().expect("forwarded");
    let stamp = upstream
        .iter()
        .find(|(k, _)| k == "x-nowasi-time")
        .map(|(_, v)| v.parse::<u64>().unwrap())
        .expect("the guest stamped the request");
    assert!(stamp > 1_500_000_000, "seconds since the epoch: {stamp}");
    let counter = plugin
        .metrics()
        .iter()
        .find(|m| m.name == "nowasi_requests")
        .expect("the counter exists");
    assert_eq!(counter.value, MetricValue::Counter(1));
}

#[test]
fn the_floor_guest_reads_headers_and_continues() {
    let mut plugin = Plugin::start(&guest("floor"), PluginOptions::default()).expect("starts");
    let headers = [(":path", "/a"), (":method", "GET"), ("x-a", "1")];
    for _ in 0..3 {
        let mut stream = plugin.new_stream();
        assert_eq!(stream.request_headers(&headers, true), Action::Continue);
        let upstream = stream.request_headers_seen_upstream().expect("forwarded");
        assert_eq!(upstream.len(), 3);
        assert_eq!(
            stream.response_headers(&[(":status", "204")], true),
            Action::Continue
        );
        stream.complete();
    }
    assert!(!plugin.is_failed());
}

//! Loading: a module without WASI runs, and the floor guest works. (A
//! missing import is named: `host-tests/src/module/tests.rs`.)

use crate::support::{assert_counter, guest, guest_bytes, host};
use host_tests::{AbiVersion, Action, Error, Plugin, PluginOptions};

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
    assert_counter(&plugin, "nowasi_requests", 1);
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

/// A guest's bytes with its `proxy_abi_version_0_2_1` export renamed (same
/// length, so the module stays valid).
fn with_abi_export(name: &str, version: &str) -> Vec<u8> {
    let from = b"proxy_abi_version_0_2_1";
    let to = format!("proxy_abi_version_{version}");
    assert_eq!(to.len(), from.len());
    let mut bytes = guest_bytes(name);
    let mut found = false;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to.as_bytes());
            found = true;
        }
        i += 1;
    }
    assert!(found, "guest `{name}` exports proxy_abi_version_0_2_1");
    bytes
}

#[test]
fn abi_0_2_0_modules_load_and_run() {
    let module = host()
        .load_bytes(&with_abi_export("floor", "0_2_0"))
        .expect("abi 0.2.0 is supported");
    assert_eq!(module.abi_version(), AbiVersion::V0_2_0);
    let mut plugin = Plugin::start(&module, PluginOptions::default()).expect("starts");
    let mut stream = plugin.new_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Continue
    );
}

#[test]
fn unsupported_or_missing_abi_versions_are_refused() {
    let err = host()
        .load_bytes(&with_abi_export("floor", "0_1_0"))
        .expect_err("abi 0.1.0 is refused");
    assert!(matches!(err, Error::UnsupportedAbi), "{err:?}");
    let err = host()
        .load_bytes(&with_abi_export("floor", "9_9_9"))
        .expect_err("an unknown abi is refused");
    assert!(matches!(err, Error::UnknownAbi), "{err:?}");
}

/// The host's import list (what the host fuzz target gives `wasm-smith`):
/// a module importing every function it names, with the listed
/// signatures, links and starts; a name the host lacks does not.
#[test]
fn the_import_list_names_every_host_function_with_its_signature() {
    let wat = host().imports_wat(AbiVersion::V0_2_1).expect("listed");
    assert!(
        wat.contains(r#"(import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))"#),
        "{wat}"
    );
    assert!(wat.contains(
        r#"(import "env" "proxy_increment_metric" (func (param i32 i64) (result i32)))"#
    ));
    for module in ["wasi_snapshot_preview1", "wasi_unstable"] {
        assert!(
            wat.contains(&format!("(import \"{module}\" \"fd_write\" ")),
            "{module}"
        );
    }
    let imports: Vec<&str> = wat.lines().filter(|l| l.contains("(import ")).collect();
    assert!(imports.len() > 80, "{} imports", imports.len());
    let module = |extra: &str| {
        let body = wat.trim_end().trim_end_matches(')');
        format!(
            r#"{body}
  {extra}
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1")))"#
        )
    };
    let all = wat::parse_str(module("")).expect("the list is valid WAT");
    let loaded = host().load_bytes(&all).expect("every listed import links");
    let plugin = Plugin::start(&loaded, PluginOptions::default()).expect("starts");
    assert!(plugin.configured() && !plugin.is_failed());
    let unknown =
        wat::parse_str(module(r#"(import "env" "proxy_no_such_call" (func))"#)).expect("valid WAT");
    let err = host().load_bytes(&unknown).expect_err("an unknown import");
    assert!(matches!(err, Error::MissingImport { .. }), "{err:?}");
}

//! Issue 15 item 7: the host carries header bytes as Envoy delivers them.
//! Envoy's codecs pass obs-text (`0x80..=0xFF`) in header values, which
//! need not be UTF-8; a guest reads them unchanged through
//! `proxy_get_header_map_value` and `proxy_get_header_map_pairs`, bytes it
//! writes reach the upstream unchanged, and the `&str` readers replace
//! what is not UTF-8 instead of failing.

use host_tests::pairs::deserialize_pairs;
use host_tests::{Action, Plugin, PluginOptions};

/// Not UTF-8: 0xff and 0xfe never occur in UTF-8, 0x80 alone is a stray
/// continuation byte.
const BINARY: &[u8] = b"a\xff\xfe\x80z";

/// On request headers: reads `x-bin` with `proxy_get_header_map_value`
/// and stores it as filter state `value`, reads the whole map with
/// `proxy_get_header_map_pairs` into `pairs`, and adds `x-add: \xff\xfe`.
const GUEST: &str = r#"(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_property" (func $set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 4096))
  (data (i32.const 16) "x-bin")
  (data (i32.const 32) "value")
  (data (i32.const 48) "pairs")
  (data (i32.const 64) "x-add")
  (data (i32.const 80) "\ff\fe")
  (func (export "malloc") (param $n i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $n)))
    (local.get $at))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.ne (call $get (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 100) (i32.const 104)) (i32.const 0))
      (then unreachable))
    (drop (call $set (i32.const 32) (i32.const 5) (i32.load (i32.const 100)) (i32.load (i32.const 104))))
    (if (i32.ne (call $pairs (i32.const 0) (i32.const 108) (i32.const 112)) (i32.const 0))
      (then unreachable))
    (drop (call $set (i32.const 48) (i32.const 5) (i32.load (i32.const 108)) (i32.load (i32.const 112))))
    (if (i32.ne (call $add (i32.const 0) (i32.const 64) (i32.const 5) (i32.const 80) (i32.const 2)) (i32.const 0))
      (then unreachable))
    (i32.const 0))
)"#;

/// A plugin of [`GUEST`].
fn start_guest() -> Plugin {
    let bytes = wat::parse_str(GUEST).expect("valid WAT");
    let module = crate::support::host().load_bytes(&bytes).expect("loads");
    Plugin::start(&module, PluginOptions::default()).expect("starts")
}

/// A GET of `/p` from `h` with one more header, `name: value`.
fn request<'a>(name: &'a [u8], value: &'a [u8]) -> Vec<(&'a [u8], &'a [u8])> {
    vec![
        (b":method", b"GET"),
        (b":path", b"/p"),
        (b":authority", b"h"),
        (name, value),
    ]
}

#[test]
fn non_utf8_header_bytes_reach_the_guest_and_the_upstream_unchanged() {
    let mut plugin = start_guest();
    let mut stream = plugin.new_stream();
    let request = request(b"X-Bin", BINARY);
    assert_eq!(
        stream.request_headers_bytes(&request, true),
        Action::Continue
    );
    assert_eq!(stream.refused_by_codec(), None, "obs-text is not refused");
    // proxy_get_header_map_value
    assert_eq!(stream.filter_state(b"value").as_deref(), Some(BINARY));
    // proxy_get_header_map_pairs
    let pairs = deserialize_pairs(&stream.filter_state(b"pairs").expect("pairs stored"));
    assert!(
        pairs.contains(&(b"x-bin".to_vec(), BINARY.to_vec())),
        "{pairs:?}"
    );
    // what went upstream: the client's bytes and the guest's, unchanged
    let upstream = stream
        .request_headers_seen_upstream_bytes()
        .expect("forwarded");
    assert!(
        upstream.contains(&(b"x-bin".to_vec(), BINARY.to_vec())),
        "{upstream:?}"
    );
    assert!(
        upstream.contains(&(b"x-add".to_vec(), b"\xff\xfe".to_vec())),
        "{upstream:?}"
    );
    // the text reader replaces, it does not fail
    let text = stream.request_headers_seen_upstream().expect("forwarded");
    assert!(
        text.contains(&(
            "x-bin".to_string(),
            "a\u{fffd}\u{fffd}\u{fffd}z".to_string()
        )),
        "{text:?}"
    );
    assert!(
        !stream.plugin().is_failed(),
        "{:?}",
        stream.plugin().failure()
    );
}

/// The codec still refuses control bytes among obs-text bytes.
#[test]
fn a_control_byte_among_non_utf8_bytes_is_still_refused() {
    let mut plugin = start_guest();
    let mut stream = plugin.new_stream();
    let request = request(b"x-bin", b"\xff\x01\xfe");
    assert_eq!(
        stream.request_headers_bytes(&request, true),
        Action::NotDelivered
    );
    assert_eq!(
        stream.refused_by_codec().as_deref(),
        Some("http1.invalid_characters")
    );
    assert_eq!(stream.filter_state(b"value"), None, "the guest never ran");
}

use std::time::Duration;

use super::lookup;
use crate::encoding::deserialize_pairs;
use crate::properties::{NodeMetadata, Properties};
use crate::state::{HostState, StreamState};
use crate::status::WasmResult;

fn state_with_stream() -> HostState {
    let mut state = HostState::for_tests();
    let mut stream = StreamState::default();
    stream.request.headers = vec![
        (":method".into(), "GET".into()),
        (":path".into(), "/a/b?x=1".into()),
        (":authority".into(), "reviews".into()),
        ("x-tenant".into(), "t1".into()),
        ("x-tenant".into(), "t2".into()),
    ];
    stream.request.headers_started = true;
    stream.started = Some((std::time::UNIX_EPOCH, Duration::ZERO));
    stream.request_bytes = 3;
    state.streams.insert(2, stream);
    state.current_context = 2;
    state
}

fn path(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

#[test]
fn request_attributes_come_from_the_stream() {
    let state = state_with_stream();
    assert_eq!(
        lookup(&state, &path(&["request", "path"])).unwrap(),
        b"/a/b?x=1"
    );
    assert_eq!(
        lookup(&state, &path(&["request", "url_path"])).unwrap(),
        b"/a/b"
    );
    assert_eq!(
        lookup(&state, &path(&["request", "query"])).unwrap(),
        b"x=1"
    );
    assert_eq!(
        lookup(&state, &path(&["request", "host"])).unwrap(),
        b"reviews"
    );
    assert_eq!(
        lookup(&state, &path(&["request", "method"])).unwrap(),
        b"GET"
    );
    // repeated headers are joined with a comma, as Envoy's HeadersWrapper
    assert_eq!(
        lookup(&state, &path(&["request", "headers", "x-tenant"])).unwrap(),
        b"t1,t2"
    );
    assert_eq!(
        lookup(&state, &path(&["request", "size"])).unwrap(),
        3_i64.to_le_bytes()
    );
    assert_eq!(
        lookup(&state, &path(&["request", "scheme"])),
        Err(WasmResult::NotFound)
    );
    // no duration before the stream completes
    assert_eq!(
        lookup(&state, &path(&["request", "duration"])),
        Err(WasmResult::NotFound)
    );
}

#[test]
fn the_whole_headers_map_is_pairs() {
    let state = state_with_stream();
    let pairs = deserialize_pairs(&lookup(&state, &path(&["request", "headers"])).unwrap());
    assert_eq!(pairs.len(), 4);
    assert_eq!(pairs[3], (b"x-tenant".to_vec(), b"t1,t2".to_vec()));
}

#[test]
fn test_values_win_and_the_tree_is_walked() {
    let mut state = state_with_stream();
    state.properties = Properties::new()
        .with("request.path", "/override")
        .with("destination.port", 9080_i64)
        .with_node_metadata(NodeMetadata {
            labels: [("app".to_string(), "web".to_string())].into(),
            ..Default::default()
        });
    assert_eq!(
        lookup(&state, &path(&["request", "path"])).unwrap(),
        b"/override"
    );
    assert_eq!(
        lookup(&state, &path(&["request", "host"])).unwrap(),
        b"reviews"
    );
    assert_eq!(
        lookup(&state, &path(&["destination", "port"])).unwrap(),
        9080_i64.to_le_bytes()
    );
    assert_eq!(
        lookup(&state, &path(&["node", "metadata", "LABELS", "app"])).unwrap(),
        b"web"
    );
    assert_eq!(
        lookup(&state, &path(&["node", "metadata", "LABELS", "version"])),
        Err(WasmResult::NotFound)
    );
    assert_eq!(
        lookup(&state, &path(&["destination", "address"])),
        Err(WasmResult::NotFound)
    );
}

#[test]
fn plugin_identity_and_filter_state() {
    let mut state = state_with_stream();
    assert_eq!(lookup(&state, b"plugin_name").unwrap(), b"p");
    assert_eq!(lookup(&state, b"plugin_root_id").unwrap(), b"r");
    assert_eq!(lookup(&state, b"plugin_vm_id").unwrap(), b"v");
    if let Some(s) = state.streams.get_mut(&2) {
        s.filter_state.push((b"my_key".to_vec(), b"val".to_vec()));
    }
    assert_eq!(lookup(&state, b"my_key").unwrap(), b"val");
    assert_eq!(lookup(&state, b"other"), Err(WasmResult::NotFound));
    assert_eq!(lookup(&state, b""), Err(WasmResult::SerializationFailure));
    // a trailing NUL (as some SDKs send) is the same path
    assert_eq!(lookup(&state, b"plugin_name\0").unwrap(), b"p");
}

/// Envoy cannot serialize its attribute maps whole: `serializeValue`
/// (envoy `source/extensions/common/wasm/context.cc`) lists a map's keys,
/// and the wrappers behind `request`, `response`, `connection`,
/// `upstream`, `source`, `destination`, `filter_state` and `xds`
/// (`source/extensions/filters/common/expr/context.h`, `BaseWrapper`)
/// answer `ListKeys` with an error: `SERIALIZATION_FAILURE`, even when the
/// test set values under them. Their attributes and the header maps under
/// them are read as before.
#[test]
fn whole_attribute_maps_are_a_serialization_failure_as_in_envoy() {
    let mut state = state_with_stream();
    state.properties = Properties::new()
        .with("request.path", "/override")
        .with("destination.port", 9080_i64)
        .with("connection.uri_san_peer_certificate", "spiffe://a")
        .with("xds.listener_direction", 2_i64);
    for top in [
        "request",
        "response",
        "connection",
        "upstream",
        "source",
        "destination",
        "filter_state",
        "upstream_filter_state",
        "xds",
    ] {
        assert_eq!(
            lookup(&state, top.as_bytes()),
            Err(WasmResult::SerializationFailure),
            "{top}"
        );
    }
    assert_eq!(
        lookup(&state, &path(&["request", "path"])).unwrap(),
        b"/override"
    );
    assert_eq!(
        lookup(&state, &path(&["connection", "uri_san_peer_certificate"])).unwrap(),
        b"spiffe://a"
    );
    assert_eq!(
        lookup(&state, &path(&["xds", "listener_direction"])).unwrap(),
        2_i64.to_le_bytes()
    );
    assert_eq!(
        deserialize_pairs(&lookup(&state, &path(&["request", "headers"])).unwrap()).len(),
        4
    );
    // Without stream info (the root context) only `xds` exists.
    state.current_context = crate::state::ROOT_CONTEXT_ID;
    assert_eq!(lookup(&state, b"request"), Err(WasmResult::NotFound));
    assert_eq!(lookup(&state, b"destination"), Err(WasmResult::NotFound));
    assert_eq!(
        lookup(&state, b"xds"),
        Err(WasmResult::SerializationFailure)
    );
}

#[test]
fn no_request_attributes_on_the_root_context() {
    let mut state = state_with_stream();
    state.current_context = crate::state::ROOT_CONTEXT_ID;
    assert_eq!(
        lookup(&state, &path(&["request", "path"])),
        Err(WasmResult::NotFound)
    );
}

/// Every state a test can build: each `request.<key>` / `response.<key>`
/// read derives the same bytes (or the same `NOT_FOUND`) as walking the
/// whole map `derived_lookup` builds.
#[test]
fn one_attribute_equals_the_child_of_the_whole_map() {
    use super::{derived_attribute, derived_lookup};
    use crate::types::LocalResponse;
    let keys: &[&[u8]] = &[
        b"path",
        b"url_path",
        b"host",
        b"scheme",
        b"method",
        b"referer",
        b"useragent",
        b"id",
        b"query",
        b"headers",
        b"time",
        b"duration",
        b"size",
        b"total_size",
        b"protocol",
        b"code",
        b"trailers",
        b"code_details",
        b"extra",
        b"",
    ];
    let mut checked = 0;
    for mask in 0..128_u32 {
        let mut state = state_with_stream();
        let bit = |i: u32| mask & (1 << i) != 0;
        if bit(5) {
            state.properties = Properties::new()
                .with("request.path", "/set")
                .with("request.extra", "x")
                .with("response.code", 503_i64)
                .with("response.extra", "y");
        }
        let Some(stream) = state.streams.get_mut(&2) else {
            panic!("the test stream is missing");
        };
        stream.request.headers_started = bit(0);
        stream.response.headers_started = bit(1);
        stream.response.headers =
            vec![(":status".into(), "200".into()), ("x-b".into(), "1".into())];
        stream.response.trailers_started = bit(2);
        stream.response.trailers = vec![("grpc-status".into(), "0".into())];
        stream.response.seen_body = b"hello".to_vec();
        if bit(3) {
            stream.local_response = Some(LocalResponse {
                status: 403,
                details: "denied".into(),
                headers: Vec::new(),
                body: Vec::new(),
                grpc_status: u32::MAX,
            });
        }
        stream.in_log = bit(4);
        if bit(6) {
            stream
                .request
                .headers
                .push(("content-length".into(), "12".into()));
            stream
                .request
                .headers
                .push((":scheme".into(), "https".into()));
            stream.started = None;
        }
        let stream = state.stream();
        for top in [&b"request"[..], b"response"] {
            let whole = derived_lookup(&state, stream, top);
            for key in keys {
                let expected = whole
                    .as_ref()
                    .and_then(|v| v.child(key))
                    .map(|v| v.encode());
                let got = derived_attribute(&state, stream, top, key).map(|v| v.encode());
                assert_eq!(got, expected, "mask {mask} {top:?} {key:?}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 128 * 2 * keys.len());
}

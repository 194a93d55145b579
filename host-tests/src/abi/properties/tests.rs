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

#[test]
fn no_request_attributes_on_the_root_context() {
    let mut state = state_with_stream();
    state.current_context = crate::state::ROOT_CONTEXT_ID;
    assert_eq!(
        lookup(&state, &path(&["request", "path"])),
        Err(WasmResult::NotFound)
    );
}

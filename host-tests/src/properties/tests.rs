use super::*;
use crate::encoding::deserialize_pairs;

#[test]
fn scalar_encodings_are_envoys() {
    assert_eq!(PropertyValue::from("abc").encode(), b"abc");
    assert_eq!(PropertyValue::Int(8080).encode(), 8080_i64.to_le_bytes());
    assert_eq!(PropertyValue::Uint(7).encode(), 7_u64.to_le_bytes());
    assert_eq!(PropertyValue::Bool(true).encode(), [1]);
    assert_eq!(PropertyValue::Bool(false).encode(), [0]);
    assert_eq!(PropertyValue::Double(1.5).encode(), 1.5_f64.to_le_bytes());
    assert_eq!(
        PropertyValue::Duration(Duration::from_millis(3)).encode(),
        3_000_000_i64.to_le_bytes()
    );
    assert_eq!(
        PropertyValue::Timestamp(UNIX_EPOCH + Duration::from_secs(2)).encode(),
        2_000_000_000_i64.to_le_bytes()
    );
}

#[test]
fn maps_are_pairs_and_lists_are_keys() {
    let map = PropertyValue::string_map([("app", "web"), ("version", "v1")]);
    let pairs = deserialize_pairs(&map.encode());
    assert_eq!(
        pairs,
        vec![
            (b"app".to_vec(), b"web".to_vec()),
            (b"version".to_vec(), b"v1".to_vec())
        ]
    );
    let list = PropertyValue::List(vec!["a".into(), "b".into()]);
    let pairs = deserialize_pairs(&list.encode());
    assert_eq!(
        pairs,
        vec![(b"a".to_vec(), Vec::new()), (b"b".to_vec(), Vec::new())]
    );
}

#[test]
fn dotted_paths_build_a_tree_and_traverse() {
    let props = Properties::new()
        .with("destination.port", 8080_i64)
        .with("xds.cluster_name", "outbound|80||reviews")
        .with_node_metadata(NodeMetadata {
            namespace: Some("prod".into()),
            labels: [("app".to_string(), "web".to_string())].into(),
            ..Default::default()
        });
    assert_eq!(
        props.get(&[b"destination", b"port"]),
        Some(&PropertyValue::Int(8080))
    );
    assert_eq!(
        props.get(&[b"node", b"metadata", b"LABELS", b"app"]),
        Some(&PropertyValue::string("web"))
    );
    assert_eq!(
        props.get(&[b"node", b"metadata", b"NAMESPACE"]),
        Some(&PropertyValue::string("prod"))
    );
    assert_eq!(props.get(&[b"node", b"metadata", b"NAME"]), None);
    assert_eq!(props.get(&[b"destination", b"port", b"x"]), None);
    assert!(props.has_top(b"xds"));
}

#[test]
fn later_values_replace_earlier_ones() {
    let props = Properties::new()
        .with("a.b", 1_i64)
        .with("a.b", 2_i64)
        .with("a.c", true);
    assert_eq!(props.get(&[b"a", b"b"]), Some(&PropertyValue::Int(2)));
    assert_eq!(props.get(&[b"a", b"c"]), Some(&PropertyValue::Bool(true)));
}

#[test]
fn list_index_traversal() {
    let props = Properties::new().with_path(
        &["source", "uri_san_peer_certificate"],
        PropertyValue::List(vec!["spiffe://a".into(), "spiffe://b".into()]),
    );
    assert_eq!(
        props.get(&[b"source", b"uri_san_peer_certificate", b"1"]),
        Some(&PropertyValue::string("spiffe://b"))
    );
    assert_eq!(
        props.get(&[b"source", b"uri_san_peer_certificate", b"2"]),
        None
    );
}

#[test]
fn peer_metadata_uses_istio_field_names() {
    let props = Properties::new().with_upstream_peer(PeerMetadata {
        workload: Some("reviews-v2".into()),
        namespace: Some("prod".into()),
        workload_type: Some("deployment".into()),
        ..Default::default()
    });
    assert_eq!(
        props.get(&[b"upstream_peer", b"workload"]),
        Some(&PropertyValue::string("reviews-v2"))
    );
    assert_eq!(
        props.get(&[b"upstream_peer", b"type"]),
        Some(&PropertyValue::string("deployment"))
    );
}

#[test]
fn peer_metadata_read_whole_is_a_serialized_struct() {
    let peer = PeerMetadata {
        workload: Some("w".into()),
        ..Default::default()
    };
    let value = peer.to_value();
    // Struct.fields (1) = entry { key (1) = "workload", value (2) = Value { string_value (3) = "w" } }
    let mut entry = vec![0x0a, 8];
    entry.extend_from_slice(b"workload");
    entry.extend_from_slice(&[0x12, 3, 0x1a, 1, b'w']);
    let mut expected = vec![0x0a, u8::try_from(entry.len()).unwrap()];
    expected.extend(entry);
    assert_eq!(value.encode(), expected);
    // A longer path walks it as a map.
    assert_eq!(value.child(b"workload"), Some(&PropertyValue::from("w")));
    assert_eq!(value.child(b"app"), None);
}

use super::{decode, decode_into, decode_raw, encode as encode_strings};
use crate::test_support::encode_pairs as encode;

#[test]
fn decodes_pairs_in_order() {
    let bytes = encode(&[(b":path", b"/a?b=1"), (b"x-user-id", b"7")]);
    let pairs = decode(&bytes).unwrap();
    assert_eq!(
        pairs,
        vec![
            (":path".to_string(), "/a?b=1".to_string()),
            ("x-user-id".to_string(), "7".to_string())
        ]
    );
}

#[test]
fn empty_buffer_is_an_empty_map() {
    assert_eq!(decode(&[]).unwrap(), Vec::<(String, String)>::new());
}

#[test]
fn non_utf8_values_are_replaced_not_trapped() {
    let bytes = encode(&[(b"x-raw", &[0x66, 0xff, 0x6f])]);
    let pairs = decode(&bytes).unwrap();
    assert_eq!(pairs[0].1, "f\u{fffd}o");
}

#[test]
fn truncated_or_lying_buffers_are_rejected() {
    let bytes = encode(&[(b"key", b"value")]);
    for cut in 1..bytes.len() - 1 {
        assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
    }
    let mut huge = bytes.clone();
    huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode(&huge).is_none());
}

#[test]
fn raw_values_keep_nested_maps_intact() {
    // A whole `node.metadata`: LABELS is itself a serialized map, whose
    // size words are not UTF-8 once a label is 128 bytes or longer.
    let long = vec![b'v'; 200];
    let labels = encode(&[(b"app", b"reviews"), (b"long", &long)]);
    let bytes = encode(&[(b"NAMESPACE", b"prod"), (b"LABELS", &labels)]);
    let pairs = decode_raw(&bytes).unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0], (&b"NAMESPACE"[..], &b"prod"[..]));
    assert_eq!(pairs[1].0, b"LABELS");
    assert_eq!(pairs[1].1, labels.as_slice());
    let inner = decode_raw(pairs[1].1).unwrap();
    assert_eq!(inner[1], (&b"long"[..], long.as_slice()));
}

#[test]
fn encoded_pairs_decode_to_themselves() {
    let pairs = vec![
        ("location".to_string(), "http://x/y".to_string()),
        ("".to_string(), "".to_string()),
    ];
    let bytes = encode_strings(&pairs);
    assert_eq!(bytes, encode(&[(b"location", b"http://x/y"), (b"", b"")]));
    assert_eq!(decode(&bytes).unwrap(), pairs);
}

#[test]
fn decoding_into_reused_pairs_gives_exactly_the_new_map() {
    let long = encode(&[
        (b":path", b"/a-much-longer-path?with=query"),
        (b"x-user-id", b"7"),
        (b"x-raw", &[0x66, 0xff, 0x6f]),
    ]);
    let short = encode(&[(b"x", b"1")]);
    let mut pairs = Vec::new();
    // growing, shrinking, growing again: each time what `decode` returns
    for bytes in [&short, &long, &short, &long] {
        assert!(decode_into(bytes, &mut pairs));
        assert_eq!(Some(&pairs), decode(bytes).as_ref());
    }
    assert_eq!(pairs[2].1, "f\u{fffd}o");
    // a malformed map leaves nothing of the last one
    assert!(!decode_into(&long[..long.len() - 2], &mut pairs));
    assert!(pairs.is_empty());
    assert!(decode_into(&long, &mut pairs));
    assert!(decode_into(&[], &mut pairs));
    assert!(pairs.is_empty());
}

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

/// What `decode` must give: each key and value as its bytes, made text
/// with invalid UTF-8 replaced.
fn lossy(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let raw = decode_raw(bytes)?;
    Some(raw.iter().map(|(k, v)| (text(k), text(v))).collect())
}

/// The keys and values are validated as UTF-8 in one pass over the whole
/// text; a string that is not a whole slice of valid text (a separator
/// that is not NUL, invalid bytes anywhere in the map) is taken on its own.
#[test]
fn strings_are_what_their_own_bytes_say_whatever_the_rest_holds() {
    let valid = encode(&[(b"x-name", "caf\u{e9}".as_bytes()), (b"k", b"\xe2\x82\xac")]);
    let invalid_elsewhere = encode(&[(b"x-a", "\u{e9}t\u{e9}".as_bytes()), (b"x-b", b"\xff")]);
    // `é` (C3 A9) across a separator: the map's text is valid UTF-8, but
    // the second key starts inside a character.
    let mut straddling = encode(&[(b"ab", b"c"), (b"\xa9d", b"e")]);
    let sep = straddling.iter().position(|&b| b == b'c').unwrap() + 1;
    straddling[sep] = 0xc3;
    // A value cut inside a character by its length.
    let mut cut = encode(&[(b"v", b"\xc3\xa9\xc3\xa9")]);
    cut[8..12].copy_from_slice(&3u32.to_le_bytes());
    let mut pairs = Vec::new();
    for bytes in [&valid, &invalid_elsewhere, &straddling, &cut] {
        let expected = lossy(bytes);
        assert_eq!(decode(bytes), expected);
        assert_eq!(decode_into(bytes, &mut pairs), expected.is_some());
        assert_eq!(Some(&pairs), expected.as_ref());
    }
    assert_eq!(decode(&valid).unwrap()[0].1, "caf\u{e9}");
    assert_eq!(decode(&straddling).unwrap()[1].0, "\u{fffd}d");
    assert_eq!(decode(&cut).unwrap()[0].1, "\u{e9}\u{fffd}");
}

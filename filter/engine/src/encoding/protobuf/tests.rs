use super::struct_fields;

/// A length-delimited field.
fn len(field: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![field << 3 | 2, u8::try_from(bytes.len()).unwrap()];
    out.extend_from_slice(bytes);
    out
}

fn entry(key: &str, value: &[u8]) -> Vec<u8> {
    let mut e = len(1, key.as_bytes());
    e.extend(len(2, value));
    len(1, &e)
}

fn string(s: &str) -> Vec<u8> {
    len(3, s.as_bytes())
}

#[test]
fn string_fields_of_a_struct() {
    let mut bytes = entry("workload", &string("reviews-v2"));
    bytes.extend(entry("namespace", &string("prod")));
    // number_value 2.0 and a nested struct: present, not strings
    let mut number = vec![2 << 3 | 1];
    number.extend_from_slice(&2.0_f64.to_le_bytes());
    bytes.extend(entry("port", &number));
    bytes.extend(entry("labels", &len(5, &entry("app", &string("reviews")))));
    bytes.extend(entry("empty", &string("")));
    let fields = struct_fields(&bytes).unwrap();
    assert_eq!(
        fields,
        vec![
            (&b"workload"[..], Some(&b"reviews-v2"[..])),
            (&b"namespace"[..], Some(&b"prod"[..])),
            (&b"port"[..], None),
            (&b"labels"[..], None),
            (&b"empty"[..], Some(&b""[..])),
        ]
    );
}

#[test]
fn an_empty_struct_has_no_fields() {
    assert_eq!(struct_fields(&[]).unwrap(), vec![]);
}

#[test]
fn other_encodings_are_not_a_struct() {
    // proxy-wasm pairs of an empty map (a field-support object read whole)
    assert_eq!(struct_fields(&[0, 0, 0, 0]), None);
    // a FlatBuffers buffer starts with a little-endian root offset
    assert_eq!(struct_fields(&[0x0c, 0, 0, 0, 8, 0, 12, 0]), None);
    // truncated: a length past the end
    let mut bytes = entry("workload", &string("reviews-v2"));
    bytes.truncate(bytes.len() - 1);
    assert_eq!(struct_fields(&bytes), None);
    // a varint that never ends
    assert_eq!(struct_fields(&[0x08, 0xff, 0xff]), None);
}

use super::*;

const TWO_DOCS: &str = "\
# a comment
kind: A
spec:
  http:
    - name: first
      match:
        - uri: {regex: \"[\"}
    - name: second
---
---
kind: B
labels:
  app.kubernetes.io/name: x
";

fn docs(text: &str) -> Vec<Document> {
    parse_documents(&SourceFile::new("t.yaml", text)).unwrap()
}

/// Where `path` is in `doc` (the test fails when it is nowhere).
fn locate(doc: &Document, path: &FieldPath) -> Pos {
    doc.spans().locate(path).unwrap()
}

#[test]
fn splits_documents_and_skips_empty_ones() {
    let d = docs(TWO_DOCS);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].kind(), Some("A"));
    assert_eq!(d[1].kind(), Some("B"));
    assert_eq!(d[1].index, 1);
}

#[test]
fn locates_engine_field_paths() {
    let d = docs(TWO_DOCS);
    let http_path = FieldPath::fields(&["spec", "http"]);
    let uri_path = http_path.index(0).field("match").index(0).field("uri");
    let pos = locate(&d[0], &uri_path.field("regex"));
    assert_eq!((pos.line, pos.column), (7, 24));
    assert_eq!(&TWO_DOCS[pos.offset..pos.offset + pos.len], "\"[\"");
    // a collection is pointed at by its key
    let http = locate(&d[0], &http_path);
    assert_eq!((http.line, http.column), (4, 3));
    // a path that does not exist falls back to the nearest enclosing field
    let missing = locate(
        &d[0],
        &http_path.index(1).field("route").index(0).field("weight"),
    );
    assert_eq!(missing.line, 8);
    // positions are file-wide in later documents; quoted keys work
    let label = locate(
        &d[1],
        &FieldPath::fields(&["labels"]).key("app.kubernetes.io/name"),
    );
    assert_eq!((label.line, label.column), (13, 27));
}

#[test]
fn typed_field_paths_display_as_the_engine_writes_them() {
    let cases = [
        (
            FieldPath::fields(&["spec", "http"])
                .index(2)
                .field("match")
                .index(0)
                .field("uri")
                .field("regex"),
            "spec.http[2].match[0].uri.regex",
        ),
        (
            FieldPath::fields(&["spec", "subsets"])
                .key("reviews")
                .key("v1"),
            "spec.subsets.reviews.v1",
        ),
        (
            FieldPath::fields(&["labels"]).key("app.kubernetes.io/name"),
            "labels[\"app.kubernetes.io/name\"]",
        ),
        (FieldPath::root().index(0).key("a"), "[0].a"),
    ];
    for (path, text) in cases {
        assert_eq!(path.to_string(), text);
    }
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let err = parse_documents(&SourceFile::new("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n")).unwrap_err();
    assert_eq!(err.code, "yaml-syntax");
    let pos = err.pos.unwrap();
    assert_eq!((pos.line, pos.column), (3, 2));
    assert!(!err.message.contains("at line"), "{}", err.message);
}

#[test]
fn duplicate_keys_are_errors() {
    let err = parse_documents(&SourceFile::new("d.yaml", "a: 1\na: 2\n")).unwrap_err();
    assert!(err.message.contains("duplicate"), "{}", err.message);
    assert_eq!(err.pos.unwrap().line, 2);
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Typed {
    kind: String,
    spec: TypedSpec,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TypedSpec {
    weight: u32,
    #[serde(default)]
    name: String,
}

#[test]
fn typed_errors_point_at_the_field() {
    let d = docs("kind: A\nspec:\n  weight: ten\n");
    let err = d[0].typed::<Typed>().unwrap_err();
    assert_eq!(err.code, "wrong-type");
    assert_eq!(err.path.as_deref(), Some("spec.weight"));
    assert_eq!(err.pos.unwrap().line, 3);

    let d = docs("kind: A\nspec:\n  weight: 1\n  colour: red\n");
    let err = d[0].typed::<Typed>().unwrap_err();
    assert_eq!(err.code, "unknown-field");
    assert_eq!(err.path.as_deref(), Some("spec.colour"));
    let pos = err.pos.unwrap();
    assert_eq!((pos.line, pos.column), (4, 3));
}

#[test]
fn unreadable_files_and_endless_devices_are_input_errors() {
    let cases = [
        (
            "/nonexistent/policy.yaml",
            "unreadable-file",
            "cannot read `/nonexistent/policy.yaml`: no such file or directory".to_owned(),
        ),
        // `/dev/zero` reports 0 bytes: the limit must hold on what is read.
        (
            "/dev/zero",
            "file-too-large",
            format!("`/dev/zero` is larger than the limit of {MAX_FILE_BYTES} bytes"),
        ),
    ];
    for (path, code, message) in cases {
        let err = SourceFile::read(Path::new(path)).unwrap_err();
        assert_eq!(err.code, code, "{path}");
        assert_eq!(err.message, message, "{path}");
    }
}

#[test]
fn reading_stops_one_byte_past_the_limit() {
    let bytes = read_limited(std::io::repeat(b'a')).unwrap();
    assert_eq!(bytes.len() as u64, MAX_FILE_BYTES + 1);
}

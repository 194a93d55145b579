use serde_json::json;

use super::*;

fn doc(root: Node) -> String {
    emit(&[Document {
        comment: vec![],
        root,
    }])
}

#[test]
fn writes_nested_maps_and_sequences_in_order() {
    let root = Node::map()
        .with("kind", Node::str("WasmPlugin"))
        .with_comment(
            &["why"],
            "spec",
            Node::map()
                .with(
                    "list",
                    Node::Seq(vec![Node::str("a"), Node::map().with("x", Node::str("1"))]),
                )
                .with("empty", Node::map()),
        );
    assert_eq!(
        doc(root),
        "kind: WasmPlugin\n# why\nspec:\n  list:\n    - a\n    - x: \"1\"\n  empty: {}\n"
    );
}

#[test]
fn quotes_what_would_read_as_another_type() {
    for (text, expected) in [
        ("v1", "v1"),
        ("/wpcatalog", "/wpcatalog"),
        (
            "reviews.prod.svc.cluster.local",
            "reviews.prod.svc.cluster.local",
        ),
        ("", "\"\""),
        ("yes", "\"yes\""),
        ("No", "\"No\""),
        ("null", "\"null\""),
        ("123", "\"123\""),
        ("1e10", "\"1e10\""),
        (".inf", "\".inf\""),
        ("a: b", "\"a: b\""),
        ("#x", "\"#x\""),
        ("line\nbreak", "\"line\\nbreak\""),
        ("x-user-id", "x-user-id"),
        (":path", "\":path\""),
    ] {
        assert_eq!(scalar_text(text, false), expected, "{text:?}");
    }
}

#[test]
fn forced_quotes_always_quote() {
    let root = Node::map().with("sha256", Node::Quoted("a".repeat(64)));
    assert_eq!(doc(root), format!("sha256: \"{}\"\n", "a".repeat(64)));
}

#[test]
fn json_objects_come_out_sorted() {
    let value = json!({"b": [1, {"d": true, "c": null}], "a": "x"});
    assert_eq!(
        doc(Node::from(&value)),
        "a: x\nb:\n  - 1\n  - c: null\n    d: true\n"
    );
}

#[test]
fn comments_on_sequence_items_go_above_the_dash() {
    let item = Node::map()
        .with_comment(&["first"], "a", Node::str("ax"))
        .with_comment(&["second"], "b", Node::str("bx"));
    let root = Node::map().with("items", Node::Seq(vec![item]));
    assert_eq!(
        doc(root),
        "items:\n  # first\n  - a: ax\n    # second\n    b: bx\n"
    );
}

#[test]
fn documents_are_separated_and_commented() {
    let text = emit(&[
        Document {
            comment: vec!["one".into(), String::new()],
            root: Node::map().with("a", Node::str("x")),
        },
        Document {
            comment: vec![],
            root: Node::map().with("b", Node::str("z")),
        },
    ]);
    assert_eq!(text, "# one\n#\na: x\n---\nb: z\n");
}

#[test]
fn output_parses_back_to_the_same_json() {
    let value = json!({
        "spec": {"http": [{"match": [{"uri": {"prefix": "/a: b"}}], "weight": 10}],
                 "odd": ["yes", "0x10", "", "~", "- x", "[a]", "{b}", "tab\there"]},
    });
    let text = doc(Node::from(&value));
    let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(back, value);
}

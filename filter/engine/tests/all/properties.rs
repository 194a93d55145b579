//! Property tests: the indexed decide equals the linear (traced) one on
//! random policies and requests; decide is total; serde round-trips;
//! rewriting keeps a valid path.

use meshpolicy_engine::Policy;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{Req, yaml_value};

/// Paths from a small alphabet, so rules and requests collide often.
fn path() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec!["/", "a", "b", "A", "?", "=", "x", "&"]),
        0..8,
    )
    .prop_map(|parts| format!("/{}", parts.concat()))
}

fn literal() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop::sample::select(vec!["/", "a", "b", "A", "x"]), 0..4)
        .prop_map(|parts| format!("/{}", parts.concat()))
}

fn uri() -> impl Strategy<Value = Value> {
    prop_oneof![
        literal().prop_map(|s| json!({"exact": s})),
        literal().prop_map(|s| json!({"prefix": s})),
        prop::sample::select(vec!["/a.*", "/[ab]+", "/A?b", ".*x"])
            .prop_map(|s| json!({"regex": s})),
    ]
}

fn entry() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(uri()),
        any::<bool>(),
        proptest::option::of(prop::sample::select(vec!["1", "2"])),
    )
        .prop_map(|(uri, ignore, header)| {
            let mut m = json!({});
            if let Some(u) = uri {
                m["uri"] = u;
                if ignore {
                    m["ignoreUriCase"] = json!(true);
                }
            }
            if header.is_some() || m.as_object().is_some_and(|o| o.is_empty()) {
                m["headers"] = json!({"x-h": {"exact": header.unwrap_or("1")}});
            }
            m
        })
}

fn rule() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(proptest::collection::vec(entry(), 1..3)),
        proptest::collection::vec(0u32..4, 1..4),
        0u8..6,
    )
        .prop_map(|(matches, weights, kind)| {
            let n = weights.len();
            let route: Vec<Value> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let w = if i == 0 && n > 1 { w + 1 } else { *w };
                    json!({"destination": {"host": "h", "subset": format!("s{i}")}, "weight": w})
                })
                .collect();
            let mut r = match kind {
                0 => json!({"redirect": {"uri": "/r"}}),
                1 => json!({"directResponse": {"status": 200}}),
                2 => json!({"route": route, "rewrite": {"uri": "/new"}}),
                3 => json!({"route": route, "rewrite": {"uriRegexRewrite": {"match": "(a|x)", "rewrite": "\\1\\1"}}}),
                4 => json!({"route": route, "sticky": {"header": "x-user"}}),
                _ => json!({"route": route}),
            };
            if let Some(m) = matches {
                r["match"] = json!(m);
            }
            r
        })
}

fn policy_doc() -> impl Strategy<Value = Value> {
    proptest::collection::vec(rule(), 1..24).prop_map(|http| {
        json!({"metadata": {"namespace": "prod"},
            "spec": {"virtualServices": [{"name": "vs", "hosts": ["*"], "http": http}]}})
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn indexed_decide_equals_linear_decide(doc in policy_doc(), paths in proptest::collection::vec(path(), 1..16), h in 0u8..3, random in any::<u64>()) {
        let p = Policy::from_value(doc.clone()).map_err(|e| TestCaseError::fail(format!("{e}\n{doc}")))?;
        for path in paths {
            let mut req = Req::get(&path).random(random);
            if h > 0 {
                req = req.header("x-h", &h.to_string()).header("x-user", &path);
            }
            // `Req::decide` asserts decide == explain (indexed == linear).
            let d = req.decide(&p);
            // And the linear trace ends at the decided rule.
            let t = req.explain(&p);
            prop_assert_eq!(d.rule.as_ref().map(|r| r.index), t.rules.iter().find(|r| r.matched).map(|r| r.index));
        }
    }

    #[test]
    fn decide_is_total_and_rewrites_keep_a_valid_path(
        doc in policy_doc(),
        raw_path in any::<String>(),
        headers in proptest::collection::vec((any::<String>(), any::<String>()), 0..6),
        random in any::<u64>(),
    ) {
        let p = Policy::from_value(doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut req = Req::get(&raw_path).random(random);
        for (n, v) in headers {
            req = req.header(&n, &v);
        }
        let d = req.decide(&p);
        if let Some(new) = &d.path {
            prop_assert!(new.starts_with('/'), "{new:?}");
            prop_assert!(!new.bytes().any(|b| b < 0x20 || b == 0x7f), "{new:?}");
        }
    }

    #[test]
    fn policies_round_trip_through_json_and_yaml(doc in policy_doc()) {
        let typed = meshpolicy_engine::from_value(doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let json = serde_json::to_string(&typed).unwrap();
        prop_assert_eq!(&meshpolicy_engine::from_json(&json).unwrap(), &typed);
        let yaml = serde_saphyr::to_string(&typed).unwrap();
        prop_assert_eq!(&meshpolicy_engine::from_value(yaml_value(&yaml)).unwrap(), &typed);
    }
}

#[test]
fn every_model_field_survives_a_round_trip() {
    let doc = test_kit::every_field_policy();
    let typed = meshpolicy_engine::from_value(doc.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), doc);
}

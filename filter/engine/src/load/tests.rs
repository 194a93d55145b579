use serde_json::{Value, json};

use super::*;
use crate::limits::MAX_POLICY_BYTES;
use crate::{Policy, PolicyErrorKind};

/// The full path alone: the text parsed into a `Value`, the byte count, the
/// schema walk, the typed read, then compile.
fn full(json: &str) -> Result<Policy, crate::PolicyErrors> {
    Policy::from_value(crate::parse_json(json)?)
}

/// The fast path's answer for `json`, checked against the full path: a
/// model only when the full path reads the same model without an error,
/// and `Policy::from_json` (fast path, else full path) gives the full
/// path's result. Returns whether the fast path answered.
fn fast_agrees(json: &str) -> bool {
    let fast = clean(json);
    if let Some(doc) = &fast {
        let value = crate::parse_json(json).unwrap();
        assert_eq!(crate::from_value(value).as_ref(), Ok(doc), "{json}");
    }
    let (a, b) = (Policy::from_json(json), full(json));
    match (&a, &b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.rule_count(), b.rule_count());
            assert_eq!(a.warnings(), b.warnings());
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "{json}"),
        _ => panic!(
            "from_json {:?} but the full path {:?}: {json}",
            a.is_ok(),
            b.is_ok()
        ),
    }
    fast.is_some()
}

fn text(doc: &Value) -> String {
    serde_json::to_string(doc).unwrap()
}

/// A valid policy with `rules` in one virtual service for every host.
fn policy(rules: Value) -> Value {
    test_kit::policy(json!({"http": rules}))
}

fn route(host: &str) -> Value {
    json!({"route": [{"destination": {"host": host}}]})
}

#[test]
fn the_scan_counts_lists_and_growing_numbers_outside_strings() {
    let t =
        scan(r#"{"a": ["[", "\"[", "\\"], "b": [[1, 10, 1234567890123456789]], "c": "n\u006e"}"#);
    assert_eq!(
        t,
        Some(Text {
            lists: 3,
            growing_numbers: 0
        })
    );
    let t = scan(r#"[-1, 1.0, 1e1, 2E-3, 12345678901234567890, -0, 0, 7]"#);
    assert_eq!(
        t,
        Some(Text {
            lists: 1,
            growing_numbers: 6
        })
    );
    assert_eq!(scan(r#"{"a": null}"#), None);
    assert_eq!(scan(r#"{"a": [1,null]}"#), None);
    assert!(scan(r#"{"null": "null"}"#).is_some());
}

#[test]
fn the_article_and_the_test_policies_take_the_fast_path() {
    let mut docs = vec![test_kit::article_policy(), test_kit::every_field_policy()];
    for name in ["reviews-route.yaml", "reviews-canary.json"] {
        let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path).unwrap();
        docs.push(serde_saphyr::from_str(&source).unwrap());
    }
    for doc in &docs {
        assert!(fast_agrees(&text(doc)), "{doc}");
        // pretty-printed: the same document
        assert!(fast_agrees(&serde_json::to_string_pretty(doc).unwrap()));
    }
}

#[test]
fn numbers_written_another_way_read_alike() {
    let doc = policy(
        json!([{"fault": {"abort": {"httpStatus": 503, "percentage": {"value": 1e1}}},
        "route": [{"destination": {"host": "a"}, "weight": 100}]}]),
    );
    assert!(fast_agrees(&text(&doc).replace("10.0", "1e1")));
    assert!(fast_agrees(&text(&doc).replace("10.0", "0.1E2")));
    assert!(fast_agrees(&text(&doc).replace("10.0", "10")));
}

/// A bad document: the fast path leaves it to the full path, whose errors
/// `Policy::from_json` reports unchanged.
fn refused(doc: &Value) -> crate::PolicyErrors {
    let json = text(doc);
    assert!(!fast_agrees(&json), "{json}");
    Policy::from_json(&json).err().unwrap()
}

#[test]
fn what_serde_reads_but_the_walk_refuses_goes_to_the_full_path() {
    let codes = |e: &crate::PolicyErrors| -> Vec<(String, &'static str)> {
        e.errors
            .iter()
            .map(|e| (e.path.to_string(), e.code()))
            .collect()
    };
    // null for an optional field (serde: absent), and the semantic errors
    // of what serde read
    let doc = policy(json!([{"name": null}]));
    assert_eq!(
        codes(&refused(&doc)),
        [
            ("spec.virtualServices[0].http[0].name".into(), "wrong-type"),
            ("spec.virtualServices[0].http[0]".into(), "invalid-policy"),
        ]
    );
    // a struct given as a list (serde: field by field)
    let mut doc = policy(json!([route("a")]));
    doc["spec"]["settings"] = json!(["x-d"]);
    assert_eq!(
        codes(&refused(&doc)),
        [("spec.settings".into(), "wrong-type")]
    );
    // ... whose elements have fields the model lacks: stripped, so the
    // semantic errors of what serde read are still reported
    let doc = policy(json!([{"route": [[{"host": "", "bogus": 1}]]}]));
    let e = refused(&doc);
    assert_eq!(
        e.errors[0].path.to_string(),
        "spec.virtualServices[0].http[0].route[0]"
    );
    assert_eq!(e.errors[0].code(), "wrong-type");
    assert!(e.errors.len() > 1, "{e}");
    // the maps carried as written must be maps
    for (at, bad) in [("tls", json!(["x"])), ("tcp", json!([[]]))] {
        let mut doc = policy(json!([route("a")]));
        doc["spec"]["virtualServices"][0][at] = bad;
        assert_eq!(codes(&refused(&doc))[0].1, "wrong-type");
    }
    for bad in [
        json!({"trafficPolicy": 5}),
        json!({"workloadSelector": []}),
        json!({"subsets": {"v1": {"trafficPolicy": "x"}}}),
    ] {
        let mut doc = policy(json!([route("a")]));
        doc["spec"]["destinationRules"] = json!({"a.prod.svc.cluster.local": bad});
        assert_eq!(codes(&refused(&doc))[0].1, "wrong-type");
    }
    // unknown and unsupported fields, and wrong types
    let doc = policy(
        json!([{"route": [{"destination": {"host": "a"}}], "bogus": 1,
        "match": [{"gateways": ["g"], "uri": {"prefix": "/", "exakt": "/"}, "port": -1}],
        "timeout": 5}]),
    );
    assert_eq!(
        codes(&refused(&doc)),
        [
            (
                "spec.virtualServices[0].http[0].bogus".into(),
                "unknown-field"
            ),
            (
                "spec.virtualServices[0].http[0].match[0].gateways".into(),
                "unsupported-field"
            ),
            (
                "spec.virtualServices[0].http[0].match[0].port".into(),
                "wrong-type"
            ),
            (
                "spec.virtualServices[0].http[0].match[0].uri.exakt".into(),
                "unknown-field"
            ),
            (
                "spec.virtualServices[0].http[0].timeout".into(),
                "wrong-type"
            ),
        ]
    );
}

#[test]
fn what_the_fast_path_cannot_prove_clean_goes_to_the_full_path_too() {
    // an empty list may have been absent
    let mut doc = policy(json!([route("a")]));
    doc["spec"]["telemetry"] = json!([]);
    assert!(!fast_agrees(&text(&doc)));
    // a `null` in a map carried as written
    let mut doc = policy(json!([route("a")]));
    doc["spec"]["virtualServices"][0]["tls"] = json!([{"match": null}]);
    assert!(!fast_agrees(&text(&doc)));
    // a field given twice: serde refuses it, the `Value` keeps the last
    let json = text(&policy(json!([route("a")]))).replacen(
        "{\"apiVersion\"",
        "{\"kind\":\"x\",\"apiVersion\"",
        1,
    );
    assert!(!fast_agrees(&json));
    // a map key given twice: both paths keep the last
    let mut doc = policy(json!([route("a")]));
    doc["metadata"]["labels"] = json!({"a": "1"});
    let json = text(&doc).replacen("\"a\":\"1\"", "\"a\":\"0\",\"a\":\"1\"", 1);
    assert!(fast_agrees(&json));
    assert_eq!(crate::from_json(&json).unwrap().metadata.labels["a"], "1");
}

/// A valid policy with `n` numbers written `1e1` (4 bytes with the comma,
/// 5 as serde_json writes them back: `10.0,`) in a map carried as written.
fn growing(n: usize) -> String {
    let mut doc = policy(json!([route("a")]));
    doc["spec"]["virtualServices"][0]["tcp"] = json!([{"n": vec![10.0; n]}]);
    text(&doc).replace("10.0", "1e1")
}

#[test]
fn the_byte_limit_is_the_compact_json_whichever_path_reads_it() {
    // under the limit as written, past it as serde_json writes it back
    let n = MAX_POLICY_BYTES / 4 - 1_000;
    let json = growing(n);
    assert!(json.len() <= MAX_POLICY_BYTES);
    let compact = serde_json::to_string(&crate::parse_json(&json).unwrap())
        .unwrap()
        .len();
    assert!(compact > MAX_POLICY_BYTES);
    assert!(!fast_agrees(&json));
    let e = Policy::from_json(&json).err().unwrap();
    assert_eq!(
        e.errors[0].kind,
        PolicyErrorKind::PolicyTooLarge {
            bytes: compact,
            limit: MAX_POLICY_BYTES
        }
    );
    // a few: the fast path can bound the growth, and reads it
    assert!(fast_agrees(&growing(100)));
    // near the limit, the bound is past it but the compact JSON is not:
    // the full path reads it
    let mut json = growing(1);
    let pad = MAX_POLICY_BYTES - json.len() - 10;
    json.insert_str(1, &" ".repeat(pad));
    assert!(json.len() <= MAX_POLICY_BYTES);
    assert!(!fast_agrees(&json));
    assert!(Policy::from_json(&json).is_ok());
}

/// Every place of `doc`, as the steps to it.
fn places(doc: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match doc {
        Value::Object(map) => {
            for (key, child) in map {
                at.push(json!(key));
                places(child, at, out);
                at.pop();
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                at.push(json!(i));
                places(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(doc: &'a mut Value, steps: &[Value]) -> &'a mut Value {
    steps.iter().fold(doc, |v, step| match step {
        Value::String(key) => &mut v[key.as_str()],
        _ => &mut v[step.as_u64().unwrap() as usize],
    })
}

#[test]
fn the_fast_path_answers_only_what_the_full_path_reads_alike_whatever_the_mutation() {
    let mut taken = 0;
    let mut runs = 0;
    for base in [test_kit::every_field_policy(), test_kit::article_policy()] {
        let mut all = Vec::new();
        places(&base, &mut Vec::new(), &mut all);
        for steps in &all {
            let here = at_mut(&mut base.clone(), steps).clone();
            let mut mutations = vec![
                Value::Null,
                json!([here.clone()]),
                json!(5),
                json!(-1),
                json!(1.5),
                json!("x"),
                json!(true),
                json!([]),
                json!({}),
            ];
            if let Value::Object(map) = &here {
                let mut bogus = map.clone();
                bogus.insert("bogus".into(), json!(1));
                mutations.push(Value::Object(bogus));
                mutations.push(Value::Array(map.values().cloned().collect()));
            }
            for mutation in mutations {
                let mut doc = base.clone();
                *at_mut(&mut doc, steps) = mutation;
                runs += 1;
                taken += usize::from(fast_agrees(&text(&doc)));
            }
        }
    }
    // most mutations are bad documents, left to the full path; some are
    // clean, read by the fast path
    assert!(taken > runs / 10 && taken < runs, "{taken} of {runs}");
}

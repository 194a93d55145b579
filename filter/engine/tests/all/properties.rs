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
    // Uses every field the schema knows, so the schema walk and the model
    // cannot drift apart silently.
    let doc = json!({
        "apiVersion": "meshpolicy.dev/v1alpha2", "kind": "TrafficPolicy",
        "metadata": {"name": "n", "namespace": "ns", "labels": {"a": "b"}, "annotations": {"c": "d"}},
        "spec": {
            "settings": {"decisionHeader": "x-d", "metricPrefix": "mp_"},
            "subsets": {"h.ns.svc.cluster.local": {"v1": {"version": "v1"}}},
            "destinationRules": {"h.ns.svc.cluster.local": {
                "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 10}}},
                "exportTo": ["."], "workloadSelector": {"matchLabels": {"app": "h"}},
                "subsets": {"v1": {"trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}}}}},
            "telemetry": [{"providers": [{"name": "prometheus"}], "reportingInterval": "10s",
                "overrides": [{"match": {"metric": "REQUEST_COUNT", "mode": "CLIENT"}, "disabled": false,
                    "tagOverrides": {"t": {"operation": "UPSERT", "value": "request.host", "maxValues": 10}}}]}],
            "virtualServices": [{"name": "vs", "namespace": "ns", "hosts": ["h", "*.example.com"], "http": [
                {"name": "r", "match": [{"name": "m", "uri": {"prefix": "/"}, "scheme": {"exact": "http"}, "method": {"exact": "GET"},
                    "authority": {"regex": ".*"}, "headers": {"a": {}}, "withoutHeaders": {"b": {}}, "queryParams": {"c": {"exact": "1"}},
                    "ignoreUriCase": true, "port": 80, "sourceLabels": {"app": "x"}, "sourceNamespace": "ns"}],
                 "rewrite": {"uriRegexRewrite": {"match": "/a", "rewrite": "/b"}, "authority": "x"},
                 "fault": {"delay": {"fixedDelay": "5s", "percentage": {"value": 10.0}, "percent": 10},
                    "abort": {"httpStatus": 503, "percentage": {"value": 1.5}}},
                 "timeout": "2s",
                 "retries": {"attempts": 3, "perTryTimeout": "1s", "retryOn": "5xx,503", "retryRemoteLocalities": true,
                    "retryIgnorePreviousHosts": false, "backoff": "25ms"},
                 "mirror": {"host": "m", "subset": "v1", "port": {"number": 80}},
                 "mirrorPercentage": {"value": 5.0}, "mirrorPercent": 5,
                 "corsPolicy": {"allowOrigins": [{"exact": "https://a.example"}], "allowOrigin": ["https://b.example"],
                    "allowMethods": ["GET"], "allowHeaders": ["x-a"], "exposeHeaders": ["x-b"], "maxAge": "24h",
                    "allowCredentials": true, "unmatchedPreflights": "FORWARD"},
                 "headers": {"request": {"set": {"a": "1"}, "add": {"b": "2"}, "remove": ["c"]}, "response": {"set": {"d": "4"}}},
                 "sticky": {"cookie": "s"},
                 "route": [{"destination": {"host": "h", "subset": "v1", "port": {"number": 80}}, "weight": 1,
                    "headers": {"request": {"set": {"e": "5"}}}}]},
                {"redirect": {"uri": "/x", "authority": "a", "port": 8080, "scheme": "https", "redirectCode": 302}},
                {"route": [{"destination": {"host": "h"}}], "mirrors": [{"destination": {"host": "m"}, "percentage": {"value": 50.0}}]},
                {"directResponse": {"status": 200, "body": {"string": "ok"}}}
            ],
            "tls": [{"match": [{"sniHosts": ["h"]}], "route": [{"destination": {"host": "h"}}]}],
            "tcp": [{"match": [{"port": 9000}], "route": [{"destination": {"host": "h"}}]}],
            "exportTo": ["."]}]
        }
    });
    let typed = meshpolicy_engine::from_value(doc.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), doc);
}

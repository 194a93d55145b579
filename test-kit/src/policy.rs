//! The article's policy, as the project ships it, and policy builders the
//! host's tests and benchmarks share.

use serde_json::{Value, json};

use crate::paths::root;

/// Where the article's policy is, relative to the project root.
pub const ARTICLE_POLICY: &str = "manifests/policy/reviews.policy.yaml";

/// The article's policy as written (YAML).
pub fn article_policy_yaml() -> String {
    let path = root().join(ARTICLE_POLICY);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()))
}

/// The article's policy as the JSON value the filter is configured with.
pub fn article_policy() -> Value {
    serde_saphyr::from_str(&article_policy_yaml())
        .unwrap_or_else(|e| panic!("`{ARTICLE_POLICY}` is not YAML: {e}"))
}

/// A policy document (`test` in `prod`) around `spec`; a top-level `http`
/// list becomes one virtual service for every host (`*`).
pub fn policy(mut spec: Value) -> Value {
    if let Some(spec) = spec.as_object_mut()
        && let Some(http) = spec.remove("http")
    {
        let virtual_service = json!({"name": "test", "hosts": ["*"], "http": http});
        spec.insert("virtualServices".into(), json!([virtual_service]));
    }
    json!({
        "apiVersion": "meshpolicy.dev/v1alpha2",
        "kind": "TrafficPolicy",
        "metadata": {"name": "test", "namespace": "prod"},
        "spec": spec,
    })
}

/// A policy of `rules` rules, rule `i` being `rule(i)` routed to subset
/// `v1` of `a`, then a catch-all `rest` to `v2`: a request no rule matches
/// walks every rule before the catch-all decides.
pub fn rules_then_catch_all(rules: usize, rule: impl Fn(usize) -> Value) -> Value {
    let mut http: Vec<Value> = (0..rules)
        .map(|i| {
            let mut r = rule(i);
            let route = json!([{"destination": {"host": "a", "subset": "v1"}}]);
            r.as_object_mut()
                .expect("a rule is a JSON object")
                .insert("route".into(), route);
            r
        })
        .collect();
    http.push(json!({"name": "rest", "route": [{"destination": {"host": "a", "subset": "v2"}}]}));
    let subsets =
        json!({"a.prod.svc.cluster.local": {"v1": {"version": "v1"}, "v2": {"version": "v2"}}});
    policy(json!({"http": http, "subsets": subsets}))
}

/// The worst-case probe of issue 15: `rules` rules `bearer-{i}` each
/// matching `authorization` with a regex ([`bearer_token`] matches none),
/// then the catch-all.
pub fn bearer_rules(rules: usize) -> Value {
    rules_then_catch_all(rules, |i| {
        let regex = format!("Bearer [A-Za-z0-9._-]+\\.t{i}");
        json!({"name": format!("bearer-{i}"), "match": [{"headers": {"authorization": {"regex": regex}}}]})
    })
}

/// An `authorization` value with a token of `len` bytes that every
/// [`bearer_rules`] regex scans to its end and misses.
pub fn bearer_token(len: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    let mut t = String::from("Bearer ");
    let byte = |i: usize| alphabet.get(i * 7 % alphabet.len()).copied();
    t.extend((0..len).filter_map(byte).map(char::from));
    t.push_str(".x");
    t
}

/// A policy that uses every field of the model and of its schema walk
/// (`filter/engine/src/schema.rs`), so that the two cannot drift apart
/// silently: the engine's round-trip test and its fast-path tests read it.
pub fn every_field_policy() -> Value {
    json!({
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
                    "headers": {"request": {"set": {"e": "5"}, "remove": ["f"]}}}]},
                {"redirect": {"uri": "/x", "authority": "a", "port": 8080, "scheme": "https", "redirectCode": 302}},
                {"route": [{"destination": {"host": "h"}}], "mirrors": [{"destination": {"host": "m"}, "percentage": {"value": 50.0}}]},
                {"directResponse": {"status": 200, "body": {"string": "ok"}}}
            ],
            "tls": [{"match": [{"sniHosts": ["h"]}], "route": [{"destination": {"host": "h"}}]}],
            "tcp": [{"match": [{"port": 9000}], "route": [{"destination": {"host": "h"}}]}],
            "exportTo": ["."]}]
        }
    })
}
